"""Hidden tests of the activations exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process.

Changes of form from the in-notebook tests:
- "must not call F.gelu / F.silu / nn.GELU / nn.SiLU" was checked by patching
  torch.nn.functional inside the kernel; it is now read from the submitted cell's text
  (autograder/judge/structure.py), in the function and in whatever it reaches in its cell.
- in-place changes of the input and non-contiguous inputs do not cross the socket (the
  judge sends contiguous copies), so those two checks call the learner's function from
  fixtures.py, in the learner's process.
- ``x.grad`` after ``backward()`` becomes ``learner.f.grad(..., upstream=...)``; gradcheck
  runs here on a function whose forward and backward are the learner's.
"""
import math

import torch
import torch.nn.functional as F

from autograder.judge import structure
from autograder.judge.channel import LearnerError
from dlcourse.testing import check_close, generator

LIBRARY = ("gelu", "silu", "GELU", "SiLU")
EXTREME = [-1e4, -1e3, -100.0, -50.0, -10.0, -1e-6, 0.0, 1e-6, 10.0, 50.0, 100.0, 1e3, 1e4]


def _cases(big_sigma):
    """(shape, scale) of the random inputs; the long vector is scaled by ``big_sigma``."""
    return [((), 1.0), ((1,), 2.0), ((7,), 1.0), ((3, 5), 3.0), ((2, 3, 4, 5), 1.0), ((4096,), big_sigma),
            ((16, 33), 0.3)]


# ------------------------------------------------------------------ helpers

def _no_library(learner, item: str, message: str) -> None:
    structure.forbid(structure.reachable(learner.source(item), item), {k: message for k in LIBRARY})


def _case_input(seed, ci, shape, sigma, dtype):
    return (torch.randn(shape, generator=generator(seed + ci), dtype=torch.float64) * sigma).to(dtype)


def _grad_of(fn, x, what, hint="", **kwargs):
    """The learner's output and d(sum of output)/dx, with autograd in the learner's process."""
    y, (g,), _ = fn.grad(x, upstream=torch.ones_like(x), **kwargs)
    assert g is not None, f"{what}: no gradient reaches the input. {hint}".strip()
    return y, g


def _torch_grad(f, x, **kwargs):
    xr = x.detach().clone().requires_grad_(True)
    (gr,) = torch.autograd.grad(f(xr, **kwargs).sum(), xr)
    return gr


class _Learners(torch.autograd.Function):
    """A function of the judge whose forward and backward passes are the learner's (gradcheck)."""

    @staticmethod
    def forward(ctx, x, fn, kwargs):
        ctx.save_for_backward(x)
        ctx.fn, ctx.kwargs = fn, kwargs
        return fn(x.detach(), **kwargs)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        _, (gx,), _ = ctx.fn.grad(x.detach(), upstream=g, **ctx.kwargs)
        return (torch.zeros_like(x) if gx is None else gx), None, None


def _gradcheck(fn, x, **kwargs) -> bool:
    # fast mode compares u^T J v for random u, v (a wrong Jacobian fails it just the same)
    # with 3 calls instead of about 50 for the full 12 x 12 Jacobian
    return torch.autograd.gradcheck(lambda t: _Learners.apply(t, fn, kwargs), (x.requires_grad_(True),),
                                    fast_mode=True, raise_exception=False)


# ------------------------------------------------------------------ gelu

def test_gelu(learner, ref, seed):
    _no_library(learner, "gelu", "do not call torch.nn.functional.gelu/silu (or nn.GELU/nn.SiLU): "
                                 "write the formula with torch.erf / torch.tanh yourself")
    gelu = learner.gelu
    checked = learner.fixture("call_checked")

    n = 0
    for ci, (shape, sigma) in enumerate(_cases(4.0)):
        for dtype in (torch.float32, torch.float64):
            for mode in ("none", "tanh"):
                x = _case_input(seed, ci, shape, sigma, dtype)
                what = f"gelu(x, approximate={mode!r}), shape {tuple(shape)}, {dtype}"
                y, unchanged = checked(gelu, x, approximate=mode)
                assert unchanged, f"{what}: the input tensor was modified in place"
                check_close(y, F.gelu(x, approximate=mode), what=what + " vs torch.nn.functional.gelu",
                            hint="Check the constants and which form each value of `approximate` selects.")
                check_close(y, ref.gelu(x, approximate=mode), what=what)
                n += 1

    # a non-contiguous input (transposed in the learner's process)
    x = torch.randn(6, 9, generator=generator(seed + 50), dtype=torch.float64)
    for mode in ("none", "tanh"):
        check_close(learner.fixture("call_transposed")(gelu, x, approximate=mode), F.gelu(x.t(), approximate=mode),
                    what=f"gelu on a transposed input ({mode!r})")

    # the two forms are different functions
    x = torch.linspace(-4, 4, 801, dtype=torch.float64)
    assert (gelu(x) - gelu(x, approximate="tanh")).abs().max() > 1e-4, \
        "the exact and tanh forms give identical values: does `approximate` select the form?"

    # extreme inputs: finite values and gradients, as in PyTorch
    for dtype in (torch.float32, torch.float64):
        for mode in ("none", "tanh"):
            x = torch.tensor(EXTREME, dtype=dtype)
            what = f"gelu at extreme inputs (|x| up to 1e4), approximate={mode!r}, {dtype}"
            y, g = _grad_of(gelu, x, what, approximate=mode)
            assert torch.isfinite(y).all(), f"{what}: NaN or inf in the output (a formula that overflows?)"
            assert torch.isfinite(g).all(), f"{what}: NaN or inf in the gradient (a formula that overflows?)"
            check_close(y, F.gelu(x, approximate=mode), what=what)
            check_close(g, _torch_grad(F.gelu, x, approximate=mode), what=what.replace("gelu at", "gradient of gelu at"))

    # gradients: against PyTorch's analytic gradient, and against finite differences
    hint = "Is every operation differentiable by autograd (no numpy, no .detach())?"
    for ci, dtype in enumerate((torch.float32, torch.float64)):
        for mode in ("none", "tanh"):
            x = (torch.randn(64, generator=generator(seed + 60 + ci), dtype=torch.float64) * 3).to(dtype)
            what = f"gradient of gelu ({mode!r}, {dtype})"
            _, g = _grad_of(gelu, x, what, hint, approximate=mode)
            check_close(g, _torch_grad(F.gelu, x, approximate=mode), what=what, hint=hint)
    for mode in ("none", "tanh"):
        x = torch.randn(12, generator=generator(seed + 70), dtype=torch.float64)
        assert _gradcheck(gelu, x, approximate=mode), \
            f"gradcheck failed for gelu(approximate={mode!r}): autograd's gradient disagrees with finite differences"

    # any other value of `approximate` is an error
    for bad in ("Tanh", "erf", "exact", None):
        message = f"gelu(x, approximate={bad!r}) should raise ValueError (only 'none' and 'tanh' are valid)"
        try:
            gelu(torch.zeros(3), approximate=bad)
        except LearnerError as e:
            if e.name == "ValueError":
                continue
            raise AssertionError(f"{message}; your code raised {e.name}") from None
        raise AssertionError(message)
    assert n >= 28


# ------------------------------------------------------------------ silu

def test_silu(learner, ref, seed):
    _no_library(learner, "silu", "do not call torch.nn.functional.silu/gelu (or nn.SiLU/nn.GELU): "
                                 "write x * sigmoid(x) yourself")
    silu = learner.silu
    checked = learner.fixture("call_checked")

    n = 0
    for ci, (shape, sigma) in enumerate(_cases(6.0)):
        for dtype in (torch.float32, torch.float64):
            x = _case_input(seed, ci, shape, sigma, dtype)
            what = f"silu(x), shape {tuple(shape)}, {dtype}"
            y, unchanged = checked(silu, x)
            assert unchanged, f"{what}: the input tensor was modified in place"
            check_close(y, F.silu(x), what=what + " vs torch.nn.functional.silu")
            check_close(y, ref.silu(x), what=what)
            n += 1

    # a non-contiguous input (transposed in the learner's process)
    x = torch.randn(6, 9, generator=generator(seed + 50), dtype=torch.float64)
    check_close(learner.fixture("call_transposed")(silu, x), F.silu(x.t()), what="silu on a transposed input")

    # extreme inputs: finite values and gradients, as in PyTorch (the input requires grad,
    # so an in-place operation on it fails here as well)
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor(EXTREME, dtype=dtype)
        what = f"silu at extreme inputs (|x| up to 1e4), {dtype}"
        y, g = _grad_of(silu, x, what)
        assert torch.isfinite(y).all(), f"{what}: NaN or inf in the output (exp overflows?)"
        assert torch.isfinite(g).all(), f"{what}: NaN or inf in the gradient (exp overflows in some branch?)"
        check_close(y, F.silu(x), what=what)
        check_close(g, _torch_grad(F.silu, x), what="gradient of " + what)

    # gradients: against PyTorch's analytic gradient, and against finite differences
    for ci, dtype in enumerate((torch.float32, torch.float64)):
        x = (torch.randn(64, generator=generator(seed + 60 + ci), dtype=torch.float64) * 3).to(dtype)
        what = f"gradient of silu ({dtype})"
        _, g = _grad_of(silu, x, what)
        check_close(g, _torch_grad(F.silu, x), what=what)
    x = torch.randn(12, generator=generator(seed + 70), dtype=torch.float64)
    assert _gradcheck(silu, x), "gradcheck failed for silu: autograd's gradient disagrees with finite differences"
    assert n >= 14


# ------------------------------------------------------------------ SwiGLU

def _independent_swiglu(x, w1, w3, w2):
    return F.linear(F.silu(F.linear(x, w1)) * F.linear(x, w3), w2)


def _layers(mine, d, h, what):
    params = mine.params()["params"]
    for name, shape in (("w1", (h, d)), ("w3", (h, d)), ("w2", (d, h))):
        w = params.get(f"{name}.weight")
        assert w is not None, f"{what}: {name} should be an nn.Linear"
        assert tuple(w.shape) == shape, f"{what}: {name}.weight has the wrong shape"
        assert f"{name}.bias" not in params, f"{what}: {name} should have no bias (SwiGLU is bias-free)"
    count = sum(p.numel() for p in params.values())
    assert count == 3 * d * h, f"{what}: {count} parameters, expected 3 * d_model * hidden (three bias-free matrices)"


def test_swiglu(learner, ref, seed):
    # the reference silu (and gelu) stand in for the learner's: only SwiGLU is graded here
    with learner.patched(silu=ref.silu, gelu=ref.gelu):
        n = 0
        for ci, (d, h, lead, dtype) in enumerate([
            (8, 12, (2, 5), torch.float32), (16, 43, (3,), torch.float64), (4, 4, (), torch.float32),
            (32, 86, (2, 3, 7), torch.float64), (12, 6, (1, 1), torch.float32), (64, 171, (4, 16), torch.float32),
        ]):
            mine = learner.SwiGLU(d, h)
            mine.to(dtype)
            what = f"SwiGLU(d_model={d}, hidden={h}), input {(*lead, d)}, {dtype}"
            _layers(mine, d, h, what)
            g = generator(seed + 100 + ci)
            W = {k: torch.randn(s, generator=g, dtype=torch.float64).to(dtype) / math.sqrt(s[1])
                 for k, s in (("w1", (h, d)), ("w3", (h, d)), ("w2", (d, h)))}
            mine.load_state_dict({f"{k}.weight": v for k, v in W.items()})
            theirs = ref.SwiGLU(d, h).to(dtype)
            theirs.load_state_dict({f"{k}.weight": v for k, v in W.items()})
            x = (torch.randn(*lead, d, generator=g, dtype=torch.float64) * 2).to(dtype)
            up = torch.randn(*lead, d, generator=g, dtype=torch.float64).to(dtype)

            y = mine(x)
            wi = {k: v.clone().requires_grad_(True) for k, v in W.items()}
            xi = x.clone().requires_grad_(True)
            yi = _independent_swiglu(xi, wi["w1"], wi["w3"], wi["w2"])
            check_close(y, yi, what=f"output ({what})",
                        hint="The gate w1 goes through silu, the up projection w3 does not; then w2.")
            with torch.no_grad():
                check_close(y, theirs(x), what=f"output vs reference ({what})")
            # (y * up).sum().backward() in the learner's process
            _, (gx,), grads = mine.grad(x, upstream=up)
            (yi * up).sum().backward()
            assert gx is not None, f"gradient w.r.t. the input ({what}): no gradient reaches the input"
            check_close(gx, xi.grad, what=f"gradient w.r.t. the input ({what})")
            for k in ("w1", "w3", "w2"):
                gk = grads.get(f"{k}.weight")
                assert gk is not None, f"gradient w.r.t. {k}.weight ({what}): no gradient reaches it"
                check_close(gk, wi[k].grad, what=f"gradient w.r.t. {k}.weight ({what})")
            n += 1

        # positions are processed independently: permuting the sequence permutes the output
        # (the weights nn.Linear's default initialisation gives under manual_seed(seed))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            state = ref.SwiGLU(8, 20).double().state_dict()
        mine = learner.SwiGLU(8, 20)
        mine.to(torch.float64)
        mine.load_state_dict(state)
        x = torch.randn(3, 10, 8, generator=generator(seed + 7), dtype=torch.float64)
        perm = torch.randperm(10, generator=generator(seed + 8))
        check_close(mine(x[:, perm]), mine(x)[:, perm], what="output after permuting positions",
                    hint="A feed-forward layer acts on each position separately.")
        assert n >= 6
