"""Test scaffolding of the DDPM exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``, so that both sides build the same networks). It holds no expected value and
no code of a graded item: ``TestEps`` is a small random noise predictor that counts its calls,
``rng`` hands the learner's code a seeded generator, ``rng_digest`` and ``global_rng_digest``
tell whether random numbers were drawn, ``param_grads`` back-propagates a loss inside the
process, and ``DenoiseNet`` / ``denoise_loss`` are the model and loss (a plain denoising
autoencoder, no diffusion) that the hidden test of the training loop trains with it.
"""
import hashlib

import torch
import torch.nn as nn


class TestEps(nn.Module):
    """A random eps-predictor for D-dimensional points and steps 0 .. T-1; counts its calls."""

    def __init__(self, seed, T, dim=2, hidden=16, dtype=torch.float64):
        super().__init__()
        g = torch.Generator().manual_seed(int(seed))
        self.T = T
        self.l1 = nn.Linear(dim + 2, hidden).to(dtype)
        self.l2 = nn.Linear(hidden, dim).to(dtype)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64).to(dtype) * 0.7)
        self.calls = 0
        self.last_t = None

    def forward(self, x, t):
        self.calls += 1
        self.last_t = t.detach().clone()
        s = (t.to(x.dtype) / self.T)[:, None] * 3.0
        h = torch.tanh(self.l1(torch.cat([x, s.sin(), s.cos()], dim=1)))
        return self.l2(h) + 0.3 * x


def calls(net):
    """The number of forward calls of net since the last time this was asked."""
    n = net.calls
    net.calls = 0
    return n


def rng(seed):
    return torch.Generator().manual_seed(int(seed))


def rng_digest(g):
    return hashlib.sha256(g.get_state().numpy().tobytes()).hexdigest()


def global_rng_digest():
    return hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()


def param_grads(loss_fn, model, *args):
    """Gradients of loss_fn(model, *args) with respect to model's parameters."""
    model.zero_grad()
    loss_fn(model, *args).backward()
    return {n: (p.grad.clone() if p.grad is not None else None) for n, p in model.named_parameters()}


class DenoiseNet(nn.Module):
    def __init__(self, seed=0, hidden=32):
        super().__init__()
        torch.manual_seed(int(seed))
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.net(x)


def denoise_loss(model, x0, g):
    """A denoising autoencoder's loss at one noise level (no diffusion)."""
    noisy = x0 + 0.3 * torch.randn(x0.shape, generator=g)
    return ((model(noisy) - x0) ** 2).mean()
