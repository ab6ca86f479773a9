"""Test scaffolding of the activations exercise that runs in the learner's process.

Tensors cross the socket as contiguous copies, so two properties of a call can only be
seen where the learner's function runs: whether it changed its input in place, and how it
handles a non-contiguous input. ``fn`` is the learner's own function (passed by name).
Nothing here is secret: no expected value, no reference code.
"""
import torch


def call_checked(fn, x, **kwargs):
    """``fn(x, **kwargs)`` and whether ``x`` is unchanged afterwards."""
    x0 = x.clone()
    y = fn(x, **kwargs)
    return y, bool(torch.equal(x, x0))


def call_transposed(fn, x, **kwargs):
    """``fn`` on the transpose of a 2-d ``x``: a non-contiguous view."""
    return fn(x.t(), **kwargs)
