"""Test scaffolding of the checkpointing exercise that runs in the learner's process.

Sent into the notebook's process before each hidden test (and executed in the judge as
``ref.fixtures``). Functions whose saved tensors ``saved_tensor_bytes`` counts, the blocks
whose forward calls are counted, and a runner for the forward and backward pass of a stack.
No expected value and no code of the graded items is here.
"""
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

import dlcourse


# ------------------------------------------------------------ saved_tensor_bytes

def sin2(t):
    return torch.sin(t * 2)


def exp_plus_one(t):
    return (t + 1).exp()


sin = torch.sin


def plus_one(t):
    return t + 1


def sin_plus_cos(t):
    c = t * 3
    return c.sin() + c.cos()


def sin_of_slice(t):
    return (t * 3)[..., : max(1, t.shape[-1] // 2)].sin()


def two_slices(t):
    c, last = t * 3, t.shape[-1]
    return c[..., : max(1, last // 2)].sin().sum() + c[..., last // 2:].cos().sum()


def two_storages(t):
    return (t + 1) * (t + 2)


def dropout(t):
    return F.dropout(t * 1.5, 0.5, training=True)


def scaled_matmul(p, q, s):
    return (p * s) @ q


def mlp(d, dtype, seed):
    dlcourse.seed_everything(seed)
    return nn.Sequential(nn.Linear(d, 3 * d), nn.GELU(), nn.Linear(3 * d, d), nn.Tanh()).to(dtype)


def parameters_of(model):
    """model.parameters(): a one-shot generator, as a learner would pass it."""
    return model.parameters()


def param_grads(model):
    return [p.grad for p in model.parameters()]


def call_no_grad(fn, *args):
    """fn(*args) under torch.no_grad(), the floating-point tensors requiring grad."""
    args = [a.requires_grad_(True) if torch.is_tensor(a) and a.is_floating_point() else a for a in args]
    with torch.no_grad():
        return fn(*args)


# ------------------------------------------------------------ checkpointed_forward

class Counted(nn.Module):
    """Residual MLP block that counts how often its forward runs."""

    def __init__(self, d, p=0.0):
        super().__init__()
        self.fc1, self.fc2, self.p, self.calls = nn.Linear(d, 4 * d), nn.Linear(4 * d, d), p, 0

    def forward(self, x):
        self.calls += 1
        h = F.gelu(self.fc1(x))
        if self.p:
            h = F.dropout(h, self.p, training=True)
        return x + self.fc2(h)


def stack(n, d, seed, dtype=torch.float64, p=0.0, module_list=False):
    dlcourse.seed_everything(seed)
    blocks = [Counted(d, p).to(dtype) for _ in range(n)]
    return nn.ModuleList(blocks) if module_list else blocks


def plain(blocks, x, segments=None):
    for b in blocks:
        x = b(x)
    return x


def seed(s):
    torch.manual_seed(s)


def stack_state(blocks):
    """(forward calls per block, gradient of every parameter in order)."""
    return [b.calls for b in blocks], [p.grad for b in blocks for p in b.parameters()]


def run(forward, blocks, x, segments, upstream, x_grad, seed):
    """Forward and backward of forward(blocks, x, segments) with the RNG seeded first;
    returns the output, the gradients (of x when it requires grad, then of every parameter),
    the forward calls per block and the warnings raised."""
    blocks = list(blocks)
    for b in blocks:
        b.calls = 0
    x = x.detach().requires_grad_(x_grad)
    params = [p for b in blocks for p in b.parameters()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.manual_seed(seed)
        out = forward(blocks, x, segments)
        wrt = ([x] if x_grad else []) + params
        grads = torch.autograd.grad((out * upstream).sum(), wrt, allow_unused=True)
    return out.detach(), list(grads), [b.calls for b in blocks], [str(m.message) for m in caught]
