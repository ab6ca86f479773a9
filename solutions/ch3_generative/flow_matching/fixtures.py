"""Test scaffolding of the flow-matching exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``). It holds no expected value and no code of a graded item: ``TinyVelocity``
is a small model with the interface of ``VelocityNet`` whose initial weights depend on its
seed only; ``regression_loss`` is the loss the hidden test of ``train_flow`` hands to the
learner's loop (it is not the flow-matching loss: it regresses the paired noise on the data
point, which only a loop that keeps the pairs together can learn); ``loss_and_grads`` runs a
backward pass in the notebook and reports the parameters' gradients; ``GradProbe`` notes
whether gradients were enabled when it was called. What they report is learner-controlled
data; the judge recomputes everything it grades from its own copies.
"""
import torch
import torch.nn as nn


class TinyVelocity(nn.Module):
    def __init__(self, dim=2, hidden=32, seed=0):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim + 1, hidden), nn.Tanh(), nn.Linear(hidden, dim))
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for layer in (self.net[0], self.net[2]):
                bound = layer.in_features ** -0.5
                for p in (layer.weight, layer.bias):
                    p.copy_((2 * torch.rand(p.shape, generator=g, dtype=torch.float64) - 1).to(p.dtype) * bound)
        self.double()

    def forward(self, x, t):
        return self.net(torch.cat([x, t[:, None].to(x.dtype)], dim=1))


SEEN_TIMES = []


def regression_loss(model, x0, eps, t):
    """Mean over the batch of ||model(x0, t) - (1 + t) eps||^2; notes the shape of t."""
    SEEN_TIMES.append(tuple(t.shape))
    return ((model(x0, t) - eps * (1 + t[:, None])) ** 2).sum(dim=1).mean()


def seen_times():
    out = list(SEEN_TIMES)
    SEEN_TIMES.clear()
    return out


def loss_and_grads(loss_fn, model, *args):
    """loss_fn(model, *args), its value and the gradients of the model's parameters."""
    model.zero_grad(set_to_none=True)
    loss = loss_fn(model, *args)
    loss.backward()
    return loss.detach(), {n: (None if p.grad is None else p.grad.clone()) for n, p in model.named_parameters()}


class GradProbe(nn.Module):
    """A linear velocity field with one parameter; notes torch.is_grad_enabled() at each call."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.log = []

    def forward(self, x, t):
        self.log.append(torch.is_grad_enabled())
        return self.scale.to(x.dtype) * x


def probe_log(probe):
    out = list(probe.log)
    probe.log.clear()
    return out
