"""Assertions for visible and hidden tests.

Messages say *what* is wrong (shape, dtype, which case, how far off, a likely cause) and
never print expected values, so feedback does not hand out the answer.
"""
from __future__ import annotations

import contextlib
import math

import torch


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def check_tensor(actual, *, shape=None, dtype=None, what: str = "output") -> None:
    if not isinstance(actual, torch.Tensor):
        raise AssertionError(f"{what}: expected a torch.Tensor, got {type(actual).__name__}")
    if shape is not None and tuple(actual.shape) != tuple(shape):
        raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(shape)}")
    if dtype is not None and actual.dtype != dtype:
        raise AssertionError(f"{what}: dtype {actual.dtype}, expected {dtype} (keep the input's dtype)")


def check_close(actual, expected, *, what: str = "output", hint: str = "", rtol=None, atol=None) -> None:
    """Shape, dtype and finiteness first, then values; the message gives the error size only."""
    check_tensor(actual, shape=expected.shape, dtype=expected.dtype, what=what)
    if rtol is None or atol is None:
        tight = expected.dtype == torch.float64
        rtol = rtol if rtol is not None else (1e-7 if tight else 1e-4)
        atol = atol if atol is not None else (1e-9 if tight else 1e-5)
    a, e = actual.detach(), expected.detach()
    bad_nan = torch.isnan(a) != torch.isnan(e)
    if bool(bad_nan.any()):
        raise AssertionError(f"{what}: NaN where none is expected (or the reverse). {hint}".strip())
    finite = torch.isfinite(e) & torch.isfinite(a)
    if not bool(torch.equal(torch.isfinite(a), torch.isfinite(e))):
        raise AssertionError(f"{what}: inf where none is expected (or the reverse). {hint}".strip())
    if not torch.allclose(a[finite], e[finite], rtol=rtol, atol=atol):
        err = (a[finite] - e[finite]).abs().max().item() if finite.any() else math.nan
        raise AssertionError(f"{what}: values differ from the reference (max abs error {err:.3g}). {hint}".strip())


@contextlib.contextmanager
def swapped(namespace: dict, **replacements):
    """Temporarily rebind names in a notebook's globals.

    A hidden test of item B binds the reference of item A this way, so that a bug in A
    costs only A's points.
    """
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value
