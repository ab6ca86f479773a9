"""Hidden tests of the attention exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.testing import check_close, check_tensor, generator


def _inputs(seed, lead, lq, lk, d, dv, dtype):
    g = generator(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(dtype)
    return mk(*lead, lq, d), mk(*lead, lk, d), mk(*lead, lk, dv)


def _masks(seed, lead, lq, lk):
    g = generator(seed)
    yield "no mask", None
    yield "random mask", torch.rand(*lead, lq, lk, generator=g) < 0.7
    if lq == lk:
        yield "causal mask", torch.ones(lq, lk, dtype=torch.bool).tril()
    b = lead[0] if lead else 1
    lengths = torch.randint(1, lk + 1, (b,), generator=g)
    pad = torch.arange(lk)[None, :] < lengths[:, None]            # (B, L_k), True = real key
    shape = (b,) + (1,) * (len(lead) - 1) + (1, lk) if lead else (1, lk)
    yield "padding mask", pad.reshape(shape)
    full = torch.rand(*lead, lq, lk, generator=g) < 0.5
    full[..., 0, :] = False                                         # one query sees no key at all
    yield "mask with a fully masked row", full


CASES = [
    ((2,), 5, 7, 8, 8), ((3, 4), 6, 6, 16, 16), ((1,), 1, 9, 4, 2), ((2,), 9, 1, 4, 5),
    ((), 4, 4, 3, 3), ((2, 2), 12, 12, 32, 8), ((1, 2), 3, 17, 64, 64),
]


# Large scores. Queries and keys hold integers, chosen so that every score q.k / sqrt(d_k) is
# exactly representable in the dtype (sqrt(d_k) is a power of two): every correct answer then
# sees the same scores, and what is compared is the softmax alone. The first coordinate of
# each query is +a, 0 or -a and that of each key is a, so rows of scores about +a^2/sqrt(d_k),
# about 0 and about -a^2/sqrt(d_k) sit in one tensor, each row spread over a few units.
# Tolerances: float32 spaces numbers near 1e4 by 2^-10 (about 1e-3), so scores that large are
# only known to about 5e-4 and any float32 softmax may be off by that much in the weights
# (exp(s - logsumexp(s)) is: the log-sum-exp itself is rounded to that grid). In float16 and
# bfloat16 the weights and outputs are rounded to 11 and 8 significant bits.
#   (name, dtype, d_k, a, query entries step and range, key entries range, tolerance)
LARGE = [
    ("scores up to about 1e4", torch.float32, 64, 283, 1, 3, 3, dict(rtol=2e-3, atol=2e-3)),
    ("scores up to about 1e4", torch.float64, 16, 200, 1, 3, 3, {}),
    # float16 overflows above 65504: exp(s) does for s > 11.1
    ("scores up to about 20", torch.float16, 16, 8, 1, 2, 2, dict(rtol=5e-3, atol=5e-3)),
    # bfloat16 keeps float32's range (exp(s) overflows for s > 88.7) with an 8-bit significand:
    # even queries and scores about 100 land on its grid (multiples of 0.5 between 64 and 128)
    ("scores up to about 100", torch.bfloat16, 16, 20, 2, 1, 1, dict(rtol=3e-2, atol=3e-2)),
]
LARGE_HINT = ("A softmax written as exp(s) / sum(exp(s)) overflows (inf / inf = NaN) or underflows (0 / 0) for "
              "large scores; softmax(s) = softmax(s - c) for any c constant along the row (see 'Large scores "
              "and half precision').")


def _large_inputs(seed, lead, lq, lk, d, dv, dtype, a, step, qr, kr):
    g = generator(seed)
    q = step * torch.randint(-qr, qr + 1, (*lead, lq, d), generator=g).double()
    k = torch.randint(-kr, kr + 1, (*lead, lk, d), generator=g).double()
    q[..., 0] = a * torch.tensor([1.0, 0.0, -1.0]).repeat(lq)[:lq]      # rows of +a, 0, -a
    k[..., 0] = a
    v = torch.randn(*lead, lk, dv, generator=g, dtype=torch.float64)
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    scores = q.double() @ k.double().transpose(-2, -1) / math.sqrt(d)
    assert torch.equal(scores.to(dtype).double(), scores), "test set-up: scores not representable"
    return q, k, v


def _torch_grads(q, k, v, mask, g_out):
    leaves = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    out = F.scaled_dot_product_attention(*leaves, attn_mask=mask)
    out.backward(g_out)
    return [t.grad for t in leaves]


def _ref_grads(ref_sdpa, q, k, v, mask, g_out, g_w=None):
    leaves = [t.detach().clone().requires_grad_() for t in (q, k, v)]
    out, w = ref_sdpa(*leaves, mask)
    loss = (out * g_out).sum() + ((w * g_w).sum() if g_w is not None else 0)
    loss.backward()
    return [t.grad for t in leaves]


def _check_grads(got, want, what, empty_rows):
    for name, g, r in zip("qkv", got, want):
        assert g is not None, f"no gradient reaches {name} ({what}): is the output computed from it (no detach)?"
        check_tensor(g, shape=r.shape, dtype=r.dtype, what=f"gradient with respect to {name} ({what})")
        if not bool(torch.isfinite(g).all()):
            raise AssertionError(
                f"gradient with respect to {name} ({what}) contains NaN or inf"
                + (": a query with no allowed key must pass back zero, finite gradients, not only give a zero "
                   "output (see 'Fully masked rows')" if empty_rows else ""))
        check_close(g, r, what=f"gradient with respect to {name} ({what})")


def test_scaled_dot_product_attention(learner, ref, seed):
    sdpa, ref_sdpa = learner.scaled_dot_product_attention, ref.scaled_dot_product_attention
    n = 0
    for dtype in (torch.float32, torch.float64):
        for ci, (lead, lq, lk, d, dv) in enumerate(CASES):
            s = seed + 100 * ci + (7 if dtype == torch.float64 else 0)
            q, k, v = _inputs(s, lead, lq, lk, d, dv, dtype)
            for name, mask in _masks(s, lead, lq, lk):
                what = f"{name}, q{tuple(q.shape)} k{tuple(k.shape)} v{tuple(v.shape)} {dtype}"
                out, w = sdpa(q, k, v, mask)
                rout, rw = ref_sdpa(q, k, v, mask)
                check_close(w, rw, what=f"weights ({what})")
                check_close(out, rout, what=f"output ({what})")
                torch_out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
                check_close(out, torch_out, what=f"output vs torch's scaled_dot_product_attention ({what})")
                n += 1

    # The scale: scores must not grow with the head width.
    q, k, v = _inputs(seed + 1, (4,), 6, 6, 256, 4, torch.float64)
    check_close(sdpa(q, k, v)[1], ref_sdpa(q, k, v)[1], what="weights for d_k = 256",
                hint="Are the scores divided by sqrt(d_k)?")

    # Long sequence.
    q, k, v = _inputs(seed + 2, (1,), 1024, 1024, 32, 32, torch.float32)
    causal = torch.ones(1024, 1024, dtype=torch.bool).tril()
    check_close(sdpa(q, k, v, causal)[0], ref_sdpa(q, k, v, causal)[0], what="output for a causal mask at L = 1024")

    # Properties: permuting keys and values together changes nothing.
    q, k, v = _inputs(seed + 3, (2,), 5, 8, 8, 3, torch.float64)
    perm = torch.randperm(8, generator=generator(seed))
    check_close(sdpa(q, k[:, perm], v[:, perm])[0], sdpa(q, k, v)[0],
                what="output after permuting the key/value pairs", hint="Attention over a set should not depend on key order.")

    # A fully masked row: zero weights and zero output, never NaN.
    mask = torch.ones(2, 5, 8, dtype=torch.bool)
    mask[:, 2] = False
    out, w = sdpa(q, k, v, mask)
    assert not torch.isnan(out).any() and not torch.isnan(w).any(), \
        "a query with no allowed key must give zeros, not NaN (see 'Fully masked rows')"
    assert (w[:, 2] == 0).all() and (out[:, 2] == 0).all(), \
        "a query with no allowed key must get all-zero weights and a zero output (see 'Fully masked rows')"
    assert n >= 60

    # Large scores, in every dtype: the softmax must not overflow or underflow. The expected
    # values are the reference's in float64 on the same (exactly representable) scores.
    for ci, (size, dtype, d, a, step, qr, kr, tol) in enumerate(LARGE):
        lead, lq, lk, dv = ((2, 3), 6, 9, 8) if ci % 2 else ((2,), 7, 12, 4)
        s = seed + 1000 + 10 * ci
        q, k, v = _large_inputs(s, lead, lq, lk, d, dv, dtype, a, step, qr, kr)
        for name, mask in _masks(s, lead, lq, lk):
            what = f"{size}, {name}, q{tuple(q.shape)} {dtype}"
            out, w = sdpa(q, k, v, mask)
            rout, rw = (t.to(dtype) for t in ref_sdpa(q.double(), k.double(), v.double(), mask))
            check_close(w, rw, what=f"weights ({what})", hint=LARGE_HINT, **tol)
            check_close(out, rout, what=f"output ({what})", hint=LARGE_HINT, **tol)
            if dtype == torch.float32:
                check_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), hint=LARGE_HINT,
                            what=f"output vs torch's scaled_dot_product_attention ({what})", **tol)
            n += 1

    # The backward pass: gradients with respect to q, k and v, against the reference and
    # torch's scaled_dot_product_attention, fully masked rows included (zero and finite).
    for ci, (lead, lq, lk, d, dv, dtypes) in enumerate([
        ((2,), 5, 7, 8, 4, (torch.float32, torch.float64)), ((2, 3), 6, 6, 16, 8, (torch.float32,)),
        ((), 4, 9, 4, 3, (torch.float64,)),
    ]):
        for dtype in dtypes:
            s = seed + 2000 + 10 * ci + (5 if dtype == torch.float64 else 0)
            q, k, v = _inputs(s, lead, lq, lk, d, dv, dtype)
            g_out = torch.randn(*lead, lq, dv, generator=generator(s + 1), dtype=torch.float64).to(dtype)
            for name, mask in _masks(s, lead, lq, lk):
                what = f"{name}, q{tuple(q.shape)} k{tuple(k.shape)} v{tuple(v.shape)} {dtype}"
                empty = mask is not None and not bool(mask.any(-1).all())
                (out, _), grads, _ = sdpa.grad(q, k, v, mask, upstream=(g_out, None))
                check_close(out, ref_sdpa(q, k, v, mask)[0], what=f"output ({what})")
                _check_grads(grads, _ref_grads(ref_sdpa, q, k, v, mask, g_out), what, empty)
                _check_grads(grads, _torch_grads(q, k, v, mask, g_out),
                             f"{what}, vs torch's scaled_dot_product_attention", empty)
                n += 1
    # Gradients through the weights too (both outputs used downstream), one fully masked row.
    q, k, v = _inputs(seed + 2100, (2,), 5, 6, 8, 3, torch.float64)
    mask = torch.rand(2, 5, 6, generator=generator(seed + 2101)) < 0.6
    mask[:, 3] = False
    g = generator(seed + 2102)
    g_out = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    g_w = torch.randn(2, 5, 6, generator=g, dtype=torch.float64)
    _, grads, _ = sdpa.grad(q, k, v, mask, upstream=(g_out, g_w))
    _check_grads(grads, _ref_grads(ref_sdpa, q, k, v, mask, g_out, g_w),
                 "loss using both the output and the weights, a fully masked row", True)
    # ...and with large scores (float64, scores up to about 1e4).
    q, k, v = _large_inputs(seed + 2200, (2,), 6, 8, 16, 4, torch.float64, 200, 1, 3, 3)
    mask = torch.rand(2, 6, 8, generator=generator(seed + 2201)) < 0.7
    mask[:, 1] = False
    g_out = torch.randn(2, 6, 4, generator=generator(seed + 2202), dtype=torch.float64)
    _, grads, _ = sdpa.grad(q, k, v, mask, upstream=(g_out, None))
    _check_grads(grads, _ref_grads(ref_sdpa, q, k, v, mask, g_out),
                 "scores up to about 1e4, a fully masked row, float64", True)
    assert n >= 95


def _weights(d_model, dtype, seed, bias):
    out = {}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        out[f"{name}.weight"] = torch.randn(d_model, d_model, generator=generator(seed + len(name)),
                                            dtype=dtype) / math.sqrt(d_model)
        if bias:
            out[f"{name}.bias"] = torch.randn(d_model, generator=generator(seed + 7 * len(name)), dtype=dtype)
    return out


def _load(mine, state, what):
    names = sorted(mine.params()["params"])
    assert names == sorted(state), \
        f"{what}: parameters {names}, expected q_proj, k_proj, v_proj, out_proj (weight and, with bias, bias)"
    mine.load_state_dict(state)


def _torch_mha(state, d_model, h, dtype, bias):
    tm = nn.MultiheadAttention(d_model, h, bias=bias, batch_first=True).to(dtype)
    with torch.no_grad():
        tm.in_proj_weight.copy_(torch.cat([state[f"{n}.weight"] for n in ("q_proj", "k_proj", "v_proj")]))
        tm.out_proj.weight.copy_(state["out_proj.weight"])
        if bias:
            tm.in_proj_bias.copy_(torch.cat([state[f"{n}.bias"] for n in ("q_proj", "k_proj", "v_proj")]))
            tm.out_proj.bias.copy_(state["out_proj.bias"])
    return tm


def test_multi_head_attention(learner, ref, seed):
    # the reference attention stands in for the learner's: only this part is graded here
    with learner.patched(scaled_dot_product_attention=ref.scaled_dot_product_attention):
        n = 0
        for ci, (B, Lq, Lk, d, h, dtype, bias) in enumerate([
            (2, 5, 5, 16, 4, torch.float32, True), (3, 6, 9, 24, 3, torch.float64, True),
            (1, 7, 7, 8, 1, torch.float32, False), (4, 4, 11, 32, 8, torch.float64, True),
            (2, 64, 64, 64, 4, torch.float32, True), (1, 1, 3, 12, 2, torch.float64, False),
        ]):
            s = seed + 31 * ci
            cfg = f"MultiHeadAttention({d}, {h}, bias={bias})"
            state = _weights(d, dtype, s, bias)
            mine = learner.MultiHeadAttention(d, h, bias=bias)
            mine.to(dtype)
            _load(mine, state, cfg)
            theirs = ref.MultiHeadAttention(d, h, bias=bias).to(dtype)
            theirs.load_state_dict(state)
            tm = _torch_mha(state, d, h, dtype, bias)
            n_params = sum(p.numel() for p in mine.params()["params"].values())
            assert n_params == 4 * d * d + (4 * d if bias else 0), f"{cfg}: unexpected number of parameters"
            g = generator(s)
            xq = torch.randn(B, Lq, d, generator=g, dtype=torch.float64).to(dtype)
            xk = torch.randn(B, Lk, d, generator=g, dtype=torch.float64).to(dtype)
            xv = torch.randn(B, Lk, d, generator=g, dtype=torch.float64).to(dtype)
            lengths = torch.randint(1, Lk + 1, (B,), generator=g)
            pad = torch.arange(Lk)[None, :] >= lengths[:, None]           # True = padding (at the end)
            settings = [("no mask", None, False), ("padding mask", pad, False)]
            if Lq == Lk:
                settings += [("causal", None, True), ("causal + padding", pad, True)]
            for name, kpm, causal in settings:
                what = f"{name}, B={B} L_q={Lq} L_k={Lk} d_model={d} heads={h} {dtype}"
                out, w = mine(xq, xk, xv, key_padding_mask=kpm, causal=causal)
                with torch.no_grad():
                    rout, rw = theirs(xq, xk, xv, key_padding_mask=kpm, causal=causal)
                check_close(w, rw, what=f"weights ({what})")
                check_close(out, rout, what=f"output ({what})")
                am = torch.ones(Lq, Lk, dtype=torch.bool).tril().logical_not() if causal else None
                # nn.MultiheadAttention gives NaN on fully masked rows: compare the others only
                rows = ~torch.isnan(rout).any(-1)
                with torch.no_grad():
                    tout, _ = tm(xq, xk, xv, key_padding_mask=kpm, attn_mask=am, average_attn_weights=False)
                check_close(out[rows], tout[rows], what=f"output vs torch.nn.MultiheadAttention ({what})")
                n += 1
        # Self-attention on one tensor, and gradients flow to every projection.
        state = _weights(16, torch.float64, seed + 5, True)
        mine = learner.MultiHeadAttention(16, 4)
        mine.to(torch.float64)
        _load(mine, state, "MultiHeadAttention(16, 4)")
        x = torch.randn(2, 6, 16, generator=generator(seed + 6), dtype=torch.float64)
        up = torch.randn(2, 6, 16, generator=generator(seed + 7), dtype=torch.float64)
        (out, _), _, grads = mine.grad(x, x, x, causal=True, upstream=(up, None))
        theirs = ref.MultiHeadAttention(16, 4).double()
        theirs.load_state_dict(state)
        (theirs(x, x, x, causal=True)[0] * up).sum().backward()
        for name, p in theirs.named_parameters():
            got = grads.get(name)
            assert got is not None, f"no gradient reaches {name}: is it used in forward?"
            check_close(got, p.grad, what=f"gradient of {name}")
        assert n >= 18
