"""Integrity checks that hidden tests run before they grade (defence in depth).

``snapshot()`` runs in the notebook's locked set-up cell (``dlcourse.setup()``), before any
learner cell, and records the functions and hooks that grading relies on. Every hidden-test
cell starts with ``verify(globals())``, which fails the cell with a clear message when a
learner cell has replaced one of them (``torch.allclose = lambda *a, **k: True``,
``check_close`` rebound, an IPython input transformer or custom exception handler added,
``sys.modules`` entries swapped, ``__eq__`` tricks) and runs canaries whose outcome is
known. The grader flags such submissions for review. A determined cheat can still attack
this module itself; the static scan and the review flag are the next layers.
"""
from __future__ import annotations

import builtins
import sys

_SNAP: dict = {}
MESSAGE = "grading integrity check failed"


def _watched():
    import numpy as np
    import torch

    from . import testing

    return {
        "torch.allclose": (torch, "allclose"), "torch.equal": (torch, "equal"), "torch.isclose": (torch, "isclose"),
        "torch.isnan": (torch, "isnan"), "torch.isfinite": (torch, "isfinite"),
        "torch.Tensor.__eq__": (torch.Tensor, "__eq__"), "torch.Tensor.__bool__": (torch.Tensor, "__bool__"),
        "torch.Tensor.all": (torch.Tensor, "all"), "torch.Tensor.any": (torch.Tensor, "any"),
        "numpy.allclose": (np, "allclose"), "numpy.testing.assert_allclose": (np.testing, "assert_allclose"),
        "dlcourse.testing.check_close": (testing, "check_close"),
        "dlcourse.testing.check_tensor": (testing, "check_tensor"),
        "builtins.isinstance": (builtins, "isinstance"), "builtins.len": (builtins, "len"),
        "builtins.abs": (builtins, "abs"), "builtins.float": (builtins, "float"),
    }


def _ipython():
    try:
        return get_ipython()  # noqa: F821 - defined inside IPython kernels only
    except NameError:
        return None


def snapshot() -> None:
    if _SNAP:
        return
    _SNAP["objects"] = {name: getattr(owner, attr) for name, (owner, attr) in _watched().items()}
    _SNAP["modules"] = {m: sys.modules.get(m) for m in ("torch", "numpy", "dlcourse", "dlcourse.testing", "math")}
    ip = _ipython()
    if ip is not None:
        _SNAP["ipython"] = {
            "input_transformers_post": list(ip.input_transformers_post),
            "input_transformers_cleanup": list(ip.input_transformers_cleanup),
            "showtraceback": type(ip).showtraceback, "custom_exceptions": ip.custom_exceptions,
        }


def problems(ns: dict | None = None) -> list[str]:
    if not _SNAP:
        return ["the set-up cell did not run dlcourse.setup()"]
    out = []
    for name, (owner, attr) in _watched().items():
        if getattr(owner, attr) is not _SNAP["objects"][name]:
            out.append(f"{name} was replaced")
    for m, mod in _SNAP["modules"].items():
        if sys.modules.get(m) is not mod:
            out.append(f"sys.modules[{m!r}] was replaced")
    if ns is not None:
        for name in ("check_close", "check_tensor"):
            if name in ns and ns[name] is not _SNAP["objects"][f"dlcourse.testing.{name}"]:
                out.append(f"{name} was rebound in the notebook")
    ip, snap = _ipython(), _SNAP.get("ipython")
    if ip is not None and snap is not None:
        for hook in ("input_transformers_post", "input_transformers_cleanup"):
            if list(getattr(ip, hook)) != snap[hook]:
                out.append(f"IPython {hook} was changed")
        if type(ip).showtraceback is not snap["showtraceback"] or "showtraceback" in vars(ip):
            out.append("IPython showtraceback was replaced")
        if ip.custom_exceptions != snap["custom_exceptions"]:
            out.append("an IPython custom exception handler was installed")
    out += _canaries()
    return out


def _canaries() -> list[str]:
    import torch

    from .testing import check_close

    out = []
    a, b = torch.zeros(3), torch.ones(3)
    try:
        check_close(a, b)
        out.append("check_close accepted different tensors")
    except AssertionError:
        pass
    if bool(torch.allclose(a, b)) or bool(torch.equal(a, b)) or not bool((a == a).all()):
        out.append("tensor comparisons give wrong answers")
    return out


def verify(ns: dict | None = None) -> None:
    found = problems(ns)
    if found:
        raise AssertionError(f"{MESSAGE}: {'; '.join(found)}. This submission is flagged for review.")
