"""Hidden tests of the position_encoding exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process. The checks
that need the learner's process (did the function write into its input? does it accept a
non-contiguous view?) go through ``fixtures.call``, which runs there.
"""
import math

import torch

from autograder.judge.channel import LearnerError
from dlcourse import wire
from dlcourse.testing import check_close, check_tensor, generator


def _raised(what: str, e: LearnerError) -> AssertionError:
    return AssertionError(f"{what}: raised {e.name}: {e.message}")


def _handle(learner, name):
    """The learner's function ``name`` as an argument for a fixture.

    (The proxy cannot pass a handle it holds as an argument yet, so the wire handle is
    rebuilt from it.)"""
    h = getattr(learner, name).get()
    if not hasattr(h, "_target") or h._target[0] != "handle":
        raise AssertionError(f"{name} is not a function")
    return wire.Handle(h._target[1], h._type)


# ------------------------------------------------------------------ sinusoidal_encoding

def _tol32(n):
    # float32 angles p * omega lose about p * 1e-7 radians: allow that for long sequences
    return dict(rtol=1e-4, atol=1e-5 + 3e-7 * n)


def _sin_hint(ref, pe, n, d, base):
    """Name the likely misconception when the output matches a known wrong variant."""
    sin = ref.sinusoidal_encoding
    want = sin(n, d, base=base, dtype=torch.float64)
    pe = pe.double()
    known = [
        ("Close, but not float64-accurate: compute in float64 (at least when dtype is float64).",
         lambda: want, 1e-5),
        ("Your positions seem to start at 1; they start at 0.",
         lambda: sin(n + 1, d, base=base, dtype=torch.float64)[1:], 1e-3),
        ("Your result does not use the base argument.",
         lambda: sin(n, d, base=10000.0, dtype=torch.float64), 1e-3),
        ("Sine and cosine look swapped: column 2i holds the sine, column 2i+1 the cosine.",
         lambda: want.view(n, d // 2, 2).flip(-1).reshape(n, d), 1e-3),
        ("You put all sines in the first half and all cosines in the second; this exercise interleaves "
         "them (sin in column 2i, cos in column 2i+1).",
         lambda: torch.cat([want[:, 0::2], want[:, 1::2]], dim=-1), 1e-3),
        ("Your frequencies look like base^(-i/d_model) (pair index i instead of 2i in the exponent).",
         lambda: sin(n, d, base=base ** 0.5, dtype=torch.float64), 1e-3),
        ("Your frequencies look like base^(-2i/(d_model/2)): the exponent divides by d_model.",
         lambda: sin(n, d, base=base ** 2, dtype=torch.float64), 1e-3),
        ("Your frequencies grow with i: the exponent is negative, omega_i = base^(-2i/d_model).",
         lambda: sin(n, d, base=1.0 / base, dtype=torch.float64), 1e-3),
    ]
    for msg, fn, tol in known:
        try:
            if torch.allclose(pe, fn(), rtol=tol, atol=tol):
                return msg
        except Exception:
            pass
    return ("Check: positions start at 0, sin in column 2i and cos in column 2i+1 with the same frequency "
            "omega_i = base^(-2i/d_model), i the pair index.")


def test_sinusoidal_encoding(learner, ref, seed):
    sin, ref_sin = learner.sinusoidal_encoding, ref.sinusoidal_encoding
    n_cases = 0
    for n, d, base in [(1, 2, 10000.0), (1, 16, 10000.0), (7, 4, 10000.0), (50, 16, 10000.0),
                       (128, 64, 10000.0), (33, 10, 100.0), (64, 32, 1e6), (2048, 512, 10000.0),
                       (300, 6, 2.0)]:
        for dtype in (torch.float32, torch.float64):
            what = f"sinusoidal_encoding({n}, {d}, base={base}, dtype={dtype})"
            try:
                pe = sin(n, d, base=base, dtype=dtype)
            except LearnerError as e:
                raise _raised(what, e) from None
            want = ref_sin(n, d, base=base, dtype=dtype)
            check_tensor(pe, shape=(n, d), dtype=dtype, what=what)
            kw = _tol32(n) if dtype == torch.float32 else {}
            try:
                check_close(pe, want, what=what, **kw)
            except AssertionError as e:
                raise AssertionError(f"{e} {_sin_hint(ref, pe, n, d, base)}") from None
            n_cases += 1

    # The default dtype is float32 and the default base is 10000.
    check_close(sin(20, 8), ref_sin(20, 8, 10000.0, torch.float32),
                what="sinusoidal_encoding(20, 8) with the default base and dtype")

    # The formula evaluated entry by entry, independently of the reference.
    pe = sin(40, 12, dtype=torch.float64)
    check_tensor(pe, shape=(40, 12), dtype=torch.float64, what="sinusoidal_encoding(40, 12, dtype=torch.float64)")
    for p in (0, 1, 7, 39):
        for c in range(12):
            i = c // 2
            angle = p / 10000.0 ** (2 * i / 12)
            want = math.sin(angle) if c % 2 == 0 else math.cos(angle)
            assert abs(pe[p, c].item() - want) < 1e-12, \
                f"entry (position {p}, column {c}) of sinusoidal_encoding(40, 12) does not follow the formula"

    # Property 1: PE[p + k] is one fixed linear map (a rotation) of PE[p], the same for every p.
    pe = sin(400, 16, base=100.0, dtype=torch.float64)
    check_tensor(pe, shape=(400, 16), what="sinusoidal_encoding(400, 16, base=100.0, dtype=torch.float64)")
    pe = pe.double()                                                       # well conditioned
    for k in (1, 5, 17):
        X, Y = pe[:-k], pe[k:]
        M = torch.linalg.lstsq(X, Y).solution
        assert (X @ M - Y).abs().max() < 1e-6, \
            (f"PE[p + {k}] is not a fixed linear function of PE[p]: every sine column and its cosine "
             "partner must use the same frequency, and every angle must be linear in the position")
        assert torch.allclose(M.T @ M, torch.eye(16, dtype=torch.float64), atol=1e-6), \
            f"the map from PE[p] to PE[p + {k}] should be a rotation (orthogonal)"

    # Property 2: PE[p] . PE[q] depends only on p - q (a Toeplitz Gram matrix).
    pe = sin(64, 32, dtype=torch.float64)
    check_tensor(pe, shape=(64, 32), what="sinusoidal_encoding(64, 32, dtype=torch.float64)")
    pe = pe.double()
    G = pe @ pe.T
    for off in range(-63, 64, 7):
        diag = torch.diagonal(G, offset=off)
        assert (diag - diag[0]).abs().max() < 1e-9, "PE[p] . PE[q] should depend only on the distance p - q"
    assert n_cases >= 18


# ------------------------------------------------------------------ both RoPE items

def _rand(seed, shape, dtype):
    return torch.randn(*shape, generator=generator(seed), dtype=torch.float64).to(dtype)


HALF = (torch.float16, torch.bfloat16)


def _tol(dtype, max_pos):
    if dtype == torch.float64:
        return {}
    if dtype == torch.float16:     # the result rounded to 11 significant bits (one step: 2^-10 relative)
        return dict(rtol=2e-3, atol=5e-3)
    if dtype == torch.bfloat16:    # ... to 8 significant bits (one step: 2^-7 relative)
        return dict(rtol=1e-2, atol=3e-2)
    # float32 rounds an angle p * theta_i to about 7e-8 of its size (measured: 2.4e-4 rad for
    # positions up to 4096), and cos and sin inherit that error: allow 1e-6 * p
    return dict(rtol=1e-4, atol=2e-5 + 1e-6 * max_pos)


def _args(positions, base):
    return () if positions is None and base == 10000.0 else (positions, base)   # the defaults must work


def _try(what, fn, *args):
    try:
        return fn(*args)
    except LearnerError as e:
        raise _raised(what, e) from None


def _call(fn, x, positions, base, what):
    return _try(what, fn, x, *_args(positions, base))


class _Checker:
    """One item's comparison with the reference on one input, through ``fixtures.call``:
    the learner's function gets a view of x (transposed on request) and the judge sees
    whether x was written into."""

    def __init__(self, learner, name, ref_fn, hint):
        self.learner, self.name, self.ref_fn, self.hint = learner, name, ref_fn, hint
        self.fn = _handle(learner, name)

    def __call__(self, x, positions, base, what, transpose=None):
        try:
            out, x_after = self.learner.fixture("call")(self.fn, x, *_args(positions, base), transpose=transpose)
        except LearnerError as e:
            raise _raised(what, e) from None
        if transpose is not None:
            x = x.transpose(*transpose)
        assert isinstance(x_after, torch.Tensor) and x_after.shape == x.shape and torch.equal(x_after, x), \
            f"{self.name} modified its input x in place ({what})"
        check_tensor(out, shape=tuple(x.shape), dtype=x.dtype, what=what)
        max_pos = x.shape[-2] if positions is None else float(torch.as_tensor(positions).abs().max())
        # half precision: the exact rotation (in float64), rounded once to x's dtype
        want = self.ref_fn(x.double(), positions, base).to(x.dtype) if x.dtype in HALF else \
            self.ref_fn(x, positions, base)
        try:
            check_close(out, want, what=what, **_tol(x.dtype, max_pos))
        except AssertionError as e:
            raise AssertionError(f"{e} {self.hint(out, x, positions, base)}") from None


def _grad_checks(fn, ref_fn, name, seed, hint):
    """|R x|^2 = |x|^2, so its gradient is 2x; and the gradient for a random upstream
    matches the reference's."""
    x = _rand(seed, (2, 5, 8), torch.float64)
    pos = torch.arange(3, 8)
    out = fn(x, pos)
    check_tensor(out, shape=(2, 5, 8), dtype=torch.float64, what=f"{name}(x, positions) for x (2, 5, 8)")
    _, grads, _ = fn.grad(x, pos, upstream=2 * out)
    gx = grads[0] if grads else None
    assert gx is not None, f"no gradient reaches x through {name}"
    check_close(gx, 2 * x, what=f"gradient of |{name}(x)|^2 with respect to x", hint=hint)
    up = _rand(seed + 1, (2, 5, 8), torch.float64)
    _, grads, _ = fn.grad(x, pos, upstream=up)
    xr = x.clone().requires_grad_()
    (ref_fn(xr, pos) * up).sum().backward()
    check_close(grads[0], xr.grad, what=f"gradient of {name} with respect to x", hint=hint)


# ------------------------------------------------------------------ apply_rope

PRECISION_HINT = ("With float16 and bfloat16 inputs, compute the angles p * theta_i and their cos and sin in "
                  "float32 or float64 and convert only the result to x's dtype: bfloat16 cannot represent most "
                  "positions above 256 (float16: above 2048), and rounding p * theta_i to half precision is off by "
                  "whole radians.")


def _rope_hint(ref):
    def hint(out, x, pos, base):
        """Name the likely misconception when the output matches a known wrong variant."""
        if x.dtype in HALF:
            return PRECISION_HINT
        if pos is None:
            pos = torch.arange(x.shape[-2])
        pos = torch.as_tensor(pos, dtype=torch.float64)
        xd = x.double()
        rope, half = ref.apply_rope, ref.apply_rope_rotate_half
        known = [
            ("Close, but not float64-accurate: for float64 inputs compute the angles in float64.",
             lambda: rope(xd, pos, base), 1e-5),
            ("Your output matches the ROTATE-HALF pairing (x[i], x[i + d/2]); apply_rope uses the interleaved "
             "pairs (x[2i], x[2i+1]).", lambda: half(xd, pos, base), 1e-3),
            ("Your rotation goes the wrong way (clockwise): check the signs of the sin terms.",
             lambda: rope(xd, -pos, base), 1e-3),
            ("Your positions seem to start at 1; they start at 0.", lambda: rope(xd, pos + 1, base), 1e-3),
            ("Your result does not use the base argument.", lambda: rope(xd, pos, 10000.0), 1e-3),
            ("Your frequencies look like base^(-i/d) (pair index i instead of 2i in the exponent).",
             lambda: rope(xd, pos, base ** 0.5), 1e-3),
            ("Your frequencies look like base^(-2i/(d/2)): the exponent divides by d, not d/2.",
             lambda: rope(xd, pos, base ** 2), 1e-3),
        ]
        for msg, fn, tol in known:
            try:
                if torch.allclose(out.double(), fn(), rtol=tol, atol=tol):
                    return msg
            except Exception:
                pass
        return ("Check the pairing (x[2i], x[2i+1]), theta_i = base^(-2i/d), the direction of rotation and "
                "the positions.")
    return hint


SHAPES = [(5, 8), (1, 2), (2, 7, 16), (2, 3, 9, 32), (3, 1, 64), (4, 6, 2), (2, 11, 128), (1, 2, 2048, 64)]


def _against_reference(check, seed, k_x, k_pos, off):
    """The reference on every shape, dtype and base, with default and custom positions, a
    long sequence, a transposed input and per-sequence positions; returns the case count.
    ``k_x``, ``k_pos``, ``off``: seed strides and offset, different for each item."""
    n_cases = 0
    for ci, shape in enumerate(SHAPES):
        for dtype in (torch.float32, torch.float64):
            for base in (10000.0, 500000.0, 100.0):
                if base != 10000.0 and (dtype == torch.float32 or shape[-2] > 100):
                    continue
                x = _rand(seed + k_x * ci, shape, dtype)
                check(x, None, base, f"x {tuple(shape)} {dtype}, default positions, base {base}")
                n_cases += 1
            L = shape[-2]
            g = generator(seed + k_pos * ci)
            custom = {
                "unsorted integer positions": torch.randperm(3 * L, generator=g)[:L],
                "positions starting at 100 (decoding with a cache)": torch.arange(100, 100 + L, dtype=torch.int32),
                "large positions": torch.randint(0, 4000, (L,), generator=g),
            }
            if dtype == torch.float64:
                custom["fractional positions"] = torch.rand(L, generator=g, dtype=torch.float64) * 50
            for name, pos in custom.items():
                check(x, pos, 10000.0, f"x {tuple(shape)} {dtype}, {name}")
                n_cases += 1

    # Long float64 sequence, far positions.
    x = _rand(seed + off + 3, (4096, 16), torch.float64)
    check(x, None, 10000.0, "x (4096, 16) float64, default positions")
    check(x, torch.arange(4096) * 25, 10000.0, "x (4096, 16) float64, positions up to 1e5")

    # A non-contiguous input, as produced by splitting heads: (B, L, H, d) -> (B, H, L, d);
    # the transpose happens in the learner's process (fixtures.call).
    x = _rand(seed + off + 5, (2, 9, 3, 16), torch.float64)
    check(x, None, 10000.0, "a non-contiguous (transposed) x (2, 3, 9, 16)", transpose=(1, 2))

    # Per-sequence positions broadcast over heads: positions (B, 1, L) for x (B, H, L, d).
    x = _rand(seed + off + 4, (3, 4, 6, 16), torch.float32)
    pos = torch.randint(0, 200, (3, 1, 6), generator=generator(seed + off + 4))
    check(x, pos, 10000.0, "x (3, 4, 6, 16) with per-sequence positions of shape (3, 1, 6)")

    # Half precision (last: a failure here is about precision). bfloat16 holds every integer
    # only up to 256 and float16 up to 2048, and both round p * theta_i by radians at these
    # positions: the angles must be computed in float32 or wider.
    g = generator(seed + off + 6)
    for dtype, shape, pos, name in [
        (torch.bfloat16, (2, 3, 64, 64), torch.arange(4000, 4064), "positions 4000..4063 (decoding with a cache)"),
        (torch.bfloat16, (1, 2, 48, 32), torch.randint(2048, 8192, (48,), generator=g), "positions up to 8191"),
        (torch.bfloat16, (2, 300, 16), None, "default positions 0..299"),
        (torch.float16, (2, 40, 64), torch.arange(4090, 4130), "positions 4090..4129"),
        (torch.float16, (3, 32, 32), torch.randint(2048, 30000, (32,), generator=g), "positions up to 30000"),
    ]:
        x = _rand(seed + off + 7 + len(shape), shape, dtype)
        check(x, pos, 10000.0, f"x {tuple(shape)} {dtype}, {name}")
        n_cases += 1
    return n_cases


def test_apply_rope(learner, ref, seed):
    rope, hint = learner.apply_rope, _rope_hint(ref)
    check = _Checker(learner, "apply_rope", ref.apply_rope, hint)

    # 1. Position 0 is the identity, and the length of every vector is kept.
    x = _rand(seed, (3, 5, 16), torch.float64)
    y = _call(rope, x, None, 10000.0, "apply_rope(x) for x (3, 5, 16) float64")
    check_tensor(y, shape=(3, 5, 16), dtype=torch.float64, what="apply_rope(x) for x (3, 5, 16) float64")
    check_close(y[:, 0], x[:, 0], what="the token at position 0 (default positions)",
                hint="Positions start at 0 and angle 0 is no rotation.")
    z = _call(rope, x, torch.zeros(5), 10000.0, "apply_rope with all positions = 0")
    check_close(z, x, what="apply_rope with all positions = 0", hint="Angle 0 must leave x unchanged.")
    check_close(y.norm(dim=-1), x.norm(dim=-1), what="vector lengths after apply_rope",
                hint="Each pair must be rotated: cos and sin of the same angle, applied as a 2x2 rotation.")

    # 2. Against the reference: shapes, dtypes, bases, default and custom positions.
    n_cases = _against_reference(check, seed, 10, 7, 0)

    # 3. The relative-position property: q_m . k_n depends only on m - n.
    g = generator(seed + 1)
    for d in (2, 8, 64):
        q, k = _rand(seed + d, (d,), torch.float64), _rand(seed + 2 * d, (d,), torch.float64)
        m = torch.randint(0, 500, (40,), generator=g)
        n = torch.randint(0, 500, (40,), generator=g)
        shift = torch.randint(1, 3000, (40,), generator=g)
        Q, K = q.repeat(40, 1), k.repeat(40, 1)
        what = f"q_m . k_n after shifting both positions by the same offset (d = {d})"
        outs = [_try(what, rope, t, p) for t, p in ((Q, m), (K, n), (Q, m + shift), (K, n + shift))]
        for o in outs:
            check_tensor(o, shape=(40, d), dtype=torch.float64, what=f"apply_rope on x (40, {d})")
        s1 = (outs[0] * outs[1]).sum(-1)
        s2 = (outs[2] * outs[3]).sum(-1)
        check_close(s2, s1, what=what,
                    hint="RoPE scores must depend only on m - n: rotate each pair by p * theta_i, the same "
                         "theta_i for both members of the pair.")

    # 4. An independent computation with complex numbers (the form of Meta's LLaMA code).
    for shape, base in [((2, 13, 32), 10000.0), ((1, 3, 40, 64), 500000.0), ((7, 2), 10000.0)]:
        x = _rand(seed + 6 + len(shape), shape, torch.float64)
        L, d = shape[-2], shape[-1]
        pos = torch.randint(0, 1000, (L,), generator=generator(seed + L)).double()
        freqs = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        angles = pos[:, None] * freqs[None, :]                                  # (L, d/2)
        xc = torch.view_as_complex(x.reshape(*shape[:-1], d // 2, 2).contiguous())
        want = torch.view_as_real(xc * torch.polar(torch.ones_like(angles), angles)).flatten(-2)
        what = f"apply_rope vs (x[2i] + i x[2i+1]) * exp(i p theta_i), x {shape}"
        out = _call(rope, x, pos, base, what)
        try:
            check_close(out, want, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e} {hint(out, x, pos, base)}") from None

    # 5. Gradients flow: |R x|^2 = |x|^2, so its gradient is 2x (and matches the reference's).
    _grad_checks(rope, ref.apply_rope, "apply_rope", seed + 8,
                 "apply_rope must be a differentiable rotation (no in-place writes into x, no detach).")
    assert n_cases >= 50


# ------------------------------------------------------------------ apply_rope_rotate_half

def _rh_hint(ref):
    def hint(out, x, pos, base):
        if x.dtype in HALF:
            return PRECISION_HINT
        if pos is None:
            pos = torch.arange(x.shape[-2])
        pos = torch.as_tensor(pos, dtype=torch.float64)
        xd = x.double()
        rope, half = ref.apply_rope, ref.apply_rope_rotate_half
        known = [
            ("Close, but not float64-accurate: for float64 inputs compute the angles in float64.",
             lambda: half(xd, pos, base), 1e-5),
            ("Your output matches the INTERLEAVED pairing (x[2i], x[2i+1]); this function pairs x[i] with "
             "x[i + d/2].", lambda: rope(xd, pos, base), 1e-3),
            ("Your rotation goes the wrong way (clockwise): check the signs in rotate_half.",
             lambda: half(xd, -pos, base), 1e-3),
            ("Your positions seem to start at 1; they start at 0.",
             lambda: half(xd, pos + 1, base), 1e-3),
            ("Your result does not use the base argument.",
             lambda: half(xd, pos, 10000.0), 1e-3),
            ("Your frequencies look like base^(-i/d) (pair index i instead of 2i in the exponent).",
             lambda: half(xd, pos, base ** 0.5), 1e-3),
            ("Your frequencies look like base^(-2i/(d/2)): the exponent divides by d, not d/2.",
             lambda: half(xd, pos, base ** 2), 1e-3),
        ]
        for msg, fn, tol in known:
            try:
                if torch.allclose(out.double(), fn(), rtol=tol, atol=tol):
                    return msg
            except Exception:
                pass
        return ("Check the pairing (x[i], x[i + d/2]) with angle p * theta_i for both members (angles repeated "
                "once per half, not interleaved), theta_i = base^(-2i/d), the direction of rotation and the "
                "positions.")
    return hint


def test_apply_rope_rotate_half(learner, ref, seed):
    half, hint = learner.apply_rope_rotate_half, _rh_hint(ref)
    # the reference apply_rope stands in for the learner's: a bug in it does not cost points here
    with learner.patched(apply_rope=ref.apply_rope):
        check = _Checker(learner, "apply_rope_rotate_half", ref.apply_rope_rotate_half, hint)

        # 1. Position 0 is the identity, lengths are kept.
        x = _rand(seed + 20, (3, 5, 16), torch.float64)
        y = _call(half, x, None, 10000.0, "apply_rope_rotate_half(x) for x (3, 5, 16) float64")
        check_tensor(y, shape=(3, 5, 16), dtype=torch.float64, what="apply_rope_rotate_half(x) for x (3, 5, 16)")
        check_close(y[:, 0], x[:, 0], what="the token at position 0 (default positions)",
                    hint="Positions start at 0 and angle 0 is no rotation.")
        check_close(y.norm(dim=-1), x.norm(dim=-1), what="vector lengths after apply_rope_rotate_half",
                    hint="Both members of pair i (x[i] and x[i + d/2]) must turn by the same angle p * theta_i: "
                         "repeat the angles once per half.")

        # 2. Against the reference.
        n_cases = _against_reference(check, seed, 11, 13, 20)

        # 3. Relative-position property.
        g = generator(seed + 21)
        for d in (2, 8, 64):
            q, k = _rand(seed + 3 * d, (d,), torch.float64), _rand(seed + 5 * d, (d,), torch.float64)
            m = torch.randint(0, 500, (40,), generator=g)
            n = torch.randint(0, 500, (40,), generator=g)
            shift = torch.randint(1, 3000, (40,), generator=g)
            Q, K = q.repeat(40, 1), k.repeat(40, 1)
            what = f"q_m . k_n after shifting both positions by the same offset (d = {d})"
            outs = [_try(what, half, t, p) for t, p in ((Q, m), (K, n), (Q, m + shift), (K, n + shift))]
            for o in outs:
                check_tensor(o, shape=(40, d), dtype=torch.float64, what=f"apply_rope_rotate_half on x (40, {d})")
            s1 = (outs[0] * outs[1]).sum(-1)
            s2 = (outs[2] * outs[3]).sum(-1)
            check_close(s2, s1, what=what, hint="Scores must depend only on m - n.")

        # 4. The fixed permutation between the pairings: with perm = (0, 2, 4, ..., 1, 3, 5, ...),
        #    apply_rope_rotate_half(x[..., perm]) == apply_rope(x)[..., perm] (the reference apply_rope).
        for shape in [(6, 8), (2, 3, 10, 64), (1, 4)]:
            x = _rand(seed + sum(shape), shape, torch.float64)
            d = shape[-1]
            perm = torch.cat([torch.arange(0, d, 2), torch.arange(1, d, 2)])
            pos = torch.randint(0, 2000, (shape[-2],), generator=generator(seed + d))
            what = f"apply_rope_rotate_half(x[..., perm]) vs apply_rope(x)[..., perm], x {shape}"
            check_close(_try(what, half, x[..., perm], pos), ref.apply_rope(x, pos)[..., perm],
                        what=what,
                        hint="The rotate-half form is the interleaved form with dimensions 0, 2, 4, ... moved to "
                             "the first half and 1, 3, 5, ... to the second.")

        # 5. Independent computation: the halves as real and imaginary parts of d/2 complex numbers.
        for shape, base in [((2, 13, 32), 10000.0), ((1, 3, 40, 64), 500000.0)]:
            x = _rand(seed + 26 + len(shape), shape, torch.float64)
            L, d = shape[-2], shape[-1]
            pos = torch.randint(0, 1000, (L,), generator=generator(seed + 2 * L)).double()
            freqs = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
            angles = pos[:, None] * freqs[None, :]
            zc = torch.complex(x[..., : d // 2], x[..., d // 2:]) * torch.polar(torch.ones_like(angles), angles)
            want = torch.cat([zc.real, zc.imag], dim=-1)
            what = f"apply_rope_rotate_half vs (x[i] + i x[i+d/2]) * exp(i p theta_i), x {shape}"
            out = _call(half, x, pos, base, what)
            try:
                check_close(out, want, what=what)
            except AssertionError as e:
                raise AssertionError(f"{e} {hint(out, x, pos, base)}") from None

        # 6. Gradients flow (and match the reference's).
        _grad_checks(half, ref.apply_rope_rotate_half, "apply_rope_rotate_half", seed + 28,
                     "The function must be a differentiable rotation (no in-place writes into x).")
        assert n_cases >= 50
