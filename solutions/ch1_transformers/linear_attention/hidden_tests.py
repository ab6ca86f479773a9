"""Hidden tests of the linear-attention exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process. The tests of
the attention forms run with the reference ``feature_map`` standing in for the learner's
(``learner.patched``), so a bug in phi costs only phi's point.

"No (n, n) matrix" used to be checked by counting the tensors autograd saved inside the
learner's process; it is now the learner process's peak memory, measured from outside
(``learner.memory()``) at n = 4096, where one (n, n) float32 matrix is 64 MiB (above
glibc's largest mmap threshold, 32 MiB, so its pages are always fresh and counted).

Each causal form earns its points only as that form, or one form could stand in for the
others (the chunked function calling the cumulative-sum one, the recurrent one written as a
masked (n, n) product, the cumulative sums written as a loop):
- from outside the process, the memory: no (n, n) matrix in any form (n = 4096, d = 8), and
  no state per position in the chunked form (n = 4096, d = 64, where the cumulative-sum
  form's n states are 64 MiB); nothing of size chunk_size x chunk_size when n < chunk_size;
- from the submitted cell (``learner.source``, ``autograder/judge/structure.py``), the
  function and the helpers of its cell that it reaches: no form uses another causal form's
  function; the recurrent form has a loop, no causal mask, no cumsum and no slice of the
  sequence that grows with the loop (``x[:t + 1]``: attention over the prefix, no state);
  the cumulative-sum form calls cumsum and has no loop (loops over a written tuple such as
  ``(q, k)`` do not count); the chunked form reads chunk_size.
What the memory cannot tell apart is left to the source: at d = 64 the recurrent loop's
many small steps fragment the heap (the reference measured 2.6-31 MiB, accepted variants up
to 146 MiB in a fresh process), so the recurrent form's memory is measured at d = 8 only,
where the cumulative-sum form's states (1 MiB) are no larger than that noise.
"""
import torch
import torch.nn.functional as F

from autograder.judge import structure
from dlcourse.testing import check_close, generator

MiB = 2 ** 20
# Peak memory of one call at n = 4096 (B = H = 1, d = 8, float32, the reference feature_map
# standing in). Measured in the contract runner (VmHWM) and when grading (the submission's
# memory cgroup, v1 max_usage_in_bytes): the solution and every accepted variant 0.0-3.3 MiB;
# the mutants linear_attention:quadratic 64.3-64.8 MiB, cumsum:quadratic 127.9-128.3 MiB,
# chunked:one_big_chunk 158.0-160.1 MiB. One (n, n) float32 matrix is 64 MiB.
# The recurrent and cumsum checks, in the contract runner: the references and accepted
# variants 0.0-2.3 MiB; recurrent:masked_quadratic 129.4-129.5, recurrent:weights_precomputed
# 90, cumsum:quadratic_numerator 128, cumsum:triangular_ones 127.8-127.9 MiB.
MEMORY_BUDGET = 24 * MiB

REC, CUM, CHK = "causal_linear_attention_recurrent", "causal_linear_attention_cumsum", "causal_linear_attention_chunked"
CAUSAL_FORMS = (REC, CUM, CHK)
RECURRENT_BANNED = ("cumsum", "cumsum_", "tril", "tril_", "triu", "triu_", "tril_indices", "triu_indices",
                    "masked_fill", "masked_fill_")
# The chunked form holds one (d_k, d_v) state and (chunk_size, chunk_size) blocks; the
# cumulative-sum form holds n states (n, d_k, d_v), 64 MiB at B = H = 1, n = 4096,
# d_k = d_v = 64, float32 (as is one (n, n) matrix). Measured there with chunk_size = 64 in
# the contract runner (two runs), and in forked processes with four histories (fresh; after
# small calls; after the same call; with a holey heap): the solution 3.9-10.2 MiB (17.4 fresh),
# the accepted variants 6.7-14.5 MiB (vectorised the largest; 27.0 fresh); the mutants
# chunked:calls_cumsum 131.8-141.0, chunked:cumsum_states 130.9-138.0,
# chunked:one_big_chunk 163.7-184.0 MiB. A per-position loop there measured 4-30 MiB
# (heap fragmentation): the source checks catch it, not this budget.
CHUNKED_N, CHUNKED_D, CHUNKED_C = 4096, 64, 64
CHUNKED_BUDGET = 32 * MiB
# n < chunk_size: a (chunk_size, chunk_size) bool mask at HUGE_CHUNK is 64 MiB, and its tril
# another 64. Measured (MEMORY_BUDGET applies): the solution and every accepted variant
# 0.0-0.4 MiB, chunked:mask_of_chunk_size (the reference before it was fixed) 127.8 MiB.
SHORT_N, HUGE_CHUNK = 16, 8192


def _quadratic(q, k, v, eps=1e-6, causal=False):
    """An independent O(n^2) computation: phi(Q) phi(K)^T V, normalised, in float64."""
    pq, pk = F.elu(q.double()) + 1, F.elu(k.double()) + 1
    a = pq @ pk.transpose(-2, -1)
    if causal:
        a = a.tril()
    return ((a @ v.double()) / (a.sum(-1, keepdim=True) + eps)).to(q.dtype)


def _exact(fn, q, k, v, **kw):
    """fn (a reference form) in float64, returned in the inputs' dtype."""
    return fn(q.double(), k.double(), v.double(), **kw).to(q.dtype)


def _qkv(seed, B, H, nq, nk, dk, dv, dtype, shift=0.0):
    g = generator(seed)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    return (mk(B, H, nq, dk) + shift).to(dtype), (mk(B, H, nk, dk) + shift).to(dtype), mk(B, H, nk, dv).to(dtype)


def _qkv_causal(seed, B, H, n, dk, dv, dtype, shift=0.0):
    return _qkv(seed, B, H, n, n, dk, dv, dtype, shift)


def _check_causal(fn, what, seed, positions, hint):
    """Changing tokens after position t must not change the outputs up to t."""
    q, k, v = _qkv_causal(seed, 2, 2, 23, 6, 5, torch.float64)
    base = fn(q, k, v)
    for t in positions:
        q2, k2, v2 = q.clone(), k.clone(), v.clone()
        g = generator(seed + t)
        for x in (q2, k2, v2):
            x[:, :, t + 1:] = 5 * torch.randn(x[:, :, t + 1:].shape, generator=g, dtype=torch.float64)
        new = fn(q2, k2, v2)
        check_close(new[:, :, :t + 1], base[:, :, :t + 1],
                    what=f"{what}: outputs up to position {t} after changing later tokens", hint=hint)


def _check_memory(learner, call, what, message, budget=MEMORY_BUDGET):
    with learner.memory() as m:
        out = call()
    assert m.peak < budget, f"{message} (peak memory {m.peak / MiB:.0f} MiB {what})"
    return out


def _form(learner, item):
    """The submitted source of ``item`` (its function and the helpers of its cell that it
    reaches), after checking that it does not hand the work to another causal form."""
    src = structure.reachable(learner.source(item), item)
    other = sorted(structure.mentions(src, [f for f in CAUSAL_FORMS if f != item]))
    assert not other, (f"{item} uses {other[0]}: each causal form is graded as its own computation, "
                       "so write this one out in full")
    return src


def _recurrent_form(learner):
    """A Python loop over the positions that reads position t and carries the state."""
    src = _form(learner, REC)
    assert structure.loops(src, fixed_ok=True) >= 1, \
        "causal_linear_attention_recurrent has no loop: the recurrent form updates its state one position at a time"
    structure.forbid(src, {name: "the recurrent form reads its state one position at a time: it needs no causal "
                                 f"mask and no cumulative sum ({name})" for name in RECURRENT_BANNED})
    assert structure.growing_slices(src) == 0, \
        ("causal_linear_attention_recurrent reads a growing part of the sequence in its loop (like x[:t + 1]): "
         "the recurrent form reads position t only, everything before it is in the state")


def _cumsum_form(learner):
    """Vectorised: cumulative sums, no Python loop over positions."""
    src = _form(learner, CUM)
    assert structure.loops(src, fixed_ok=True) == 0, \
        "causal_linear_attention_cumsum has a Python loop: the cumulative-sum form computes every position at once"
    used = {u.rsplit(".", 1)[-1] for u in structure.names_used(structure.parse(src))}
    assert used & {"cumsum", "cumsum_"}, \
        "causal_linear_attention_cumsum never calls cumsum: compute the running sums S_i and z_i with torch.cumsum"


def _chunked_form(learner):
    """chunk_size decides how the sequence is cut (its memory is measured separately)."""
    src = _form(learner, CHK)
    assert structure.reads(src, CHK, "chunk_size"), \
        "causal_linear_attention_chunked never uses chunk_size: the chunked form cuts the sequence into chunks of that size"


def _check_grads(fn, ref_fn, args, what, **kw):
    """Gradients of q, k and v (upstream: ones, as for out.sum()) against the reference's."""
    up = torch.ones(args[0].shape[:-1] + args[2].shape[-1:], dtype=args[0].dtype)
    _, grads, _ = fn.grad(*args, upstream=up, **kw)
    assert len(grads) == 3 and all(g is not None and g.abs().sum() > 0 for g in grads), \
        "no gradient reaches q, k or v"
    leaves = [a.detach().clone().requires_grad_() for a in args]
    ref_fn(*leaves, **kw).sum().backward()
    for name, got, leaf in zip("qkv", grads, leaves):
        check_close(got, leaf.grad, what=f"gradient with respect to {name} ({what})")


# ====================================================================== feature_map

def test_feature_map(learner, ref, seed):
    phi, ref_phi = learner.feature_map, ref.feature_map
    n = 0
    for dtype in (torch.float32, torch.float64):
        for ci, shape in enumerate([(1,), (7,), (3, 5), (2, 4, 9, 16), (1, 2, 1, 1)]):
            g = generator(seed + 10 * ci + (5 if dtype == torch.float64 else 0))
            x = (3 * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype)
            what = f"feature_map, shape {shape}, {dtype}"
            y = phi(x)
            check_close(y, ref_phi(x), what=what)
            check_close(y, F.elu(x) + 1, what=f"{what} vs torch's elu(x) + 1")
            n += 1
        # Large inputs of both signs: no overflow, no NaN.
        x = torch.tensor([-100.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 100.0], dtype=dtype)
        check_close(phi(x), ref_phi(x), what=f"feature_map at large |x| ({dtype})",
                    hint="phi grows like x + 1 for positive x: exp would overflow.")
        x = torch.linspace(-10, 10, 201, dtype=dtype)
        assert (phi(x) > 0).all(), f"phi must be strictly positive ({dtype})"
        # Gradients: 1 for x > 0, exp(x) for x < 0 (upstream arange(50), as (phi(x) * arange).sum()).
        x = (2 * torch.randn(50, generator=generator(seed + 99), dtype=torch.float64)).to(dtype)
        up = torch.arange(50, dtype=dtype)
        _, grads, _ = phi.grad(x, upstream=up)
        assert grads and grads[0] is not None, "no gradient flows through feature_map"
        xr = x.clone().requires_grad_()
        (ref_phi(xr) * up).sum().backward()
        check_close(grads[0], xr.grad, what=f"gradient of feature_map ({dtype})")
    assert n >= 10


# ====================================================================== linear_attention

def test_linear_attention(learner, ref, seed):
    la, ref_la = learner.linear_attention, ref.linear_attention
    with learner.patched(feature_map=ref.feature_map):
        n = 0
        cases = [(1, 1, 1, 1, 1, 1), (2, 3, 5, 7, 8, 8), (1, 4, 16, 16, 16, 4), (2, 2, 9, 33, 4, 12),
                 (3, 1, 128, 128, 32, 32), (1, 2, 300, 1, 8, 8), (1, 1, 2, 50, 64, 64), (2, 2, 40, 40, 6, 6)]
        for dtype in (torch.float32, torch.float64):
            for ci, case in enumerate(cases):
                q, k, v = _qkv(seed + 17 * ci + (3 if dtype == torch.float64 else 0), *case, dtype)
                what = f"q{tuple(q.shape)} k{tuple(k.shape)} v{tuple(v.shape)} {dtype}"
                out = la(q, k, v)
                check_close(out, ref_la(q, k, v), what=f"output ({what})",
                            hint="Check the normaliser, and that there is no 1/sqrt(d_k) scale.")
                check_close(out, _quadratic(q, k, v), what=f"output vs phi(Q)phi(K)^T V, normalised ({what})")
                n += 1
        # eps: added to the denominator, nowhere else.
        for eps in (0.0, 1e-6, 0.5, 3.0):
            for dtype in (torch.float32, torch.float64):
                q, k, v = _qkv(seed + 5, 2, 2, 6, 9, 4, 3, dtype, shift=-1.0)
                what = f"eps={eps}, {dtype}"
                out = la(q, k, v, eps=eps)
                check_close(out, ref_la(q, k, v, eps=eps), what=f"output ({what})",
                            hint="eps is added to the denominator phi(q)^T z, and only there.")
                check_close(out, _quadratic(q, k, v, eps=eps), what=f"output vs O(n^2) ({what})")
        # Tiny features (very negative q, k): the denominator is close to eps, the default eps matters.
        q, k, v = _qkv(seed + 6, 1, 3, 8, 5, 8, 4, torch.float64, shift=-8.0)
        check_close(la(q, k, v), ref_la(q, k, v), what="output with tiny features (denominator close to eps)",
                    hint="out = numerator / (phi(q)^T z + eps): no clamping, eps not in the numerator.")
        # Properties: permuting the key/value pairs changes nothing; permuting queries permutes the output.
        q, k, v = _qkv(seed + 7, 2, 2, 10, 12, 8, 8, torch.float64)
        pk = torch.randperm(12, generator=generator(seed))
        pq = torch.randperm(10, generator=generator(seed + 1))
        base = la(q, k, v)
        check_close(la(q, k[:, :, pk], v[:, :, pk]), base, what="output after permuting key/value pairs")
        check_close(la(q[:, :, pq], k, v), base[:, :, pq], what="output after permuting the queries")
        # Long sequence.
        q, k, v = _qkv(seed + 8, 1, 1, 2048, 2048, 8, 8, torch.float32)
        check_close(la(q, k, v), ref_la(q, k, v), what="output at n = 2048")
        # Linear cost: no (n_q, n_k) matrix, measured from outside the notebook's process.
        q, k, v = _qkv(seed + 8, 1, 1, 4096, 4096, 8, 8, torch.float32)
        out = _check_memory(learner, lambda: la(q, k, v), "at n = 4096",
                            "linear_attention created an (n, n)-sized tensor: compute phi(K)^T V first "
                            "(associativity), not phi(Q) phi(K)^T")
        check_close(out, ref_la(q, k, v), what="output at n = 4096")
        # Gradients reach q, k and v, and are the reference's.
        q, k, v = _qkv(seed + 9, 1, 2, 4, 6, 4, 4, torch.float64)
        _check_grads(la, ref_la, (q, k, v), "linear_attention")
        assert n >= 16


# ====================================================================== causal, recurrent

def test_causal_linear_attention_recurrent(learner, ref, seed):
    rec, ref_rec = learner.causal_linear_attention_recurrent, ref.causal_linear_attention_recurrent
    with learner.patched(feature_map=ref.feature_map):
        n = 0
        cases = [(1, 1, 1, 4, 4), (2, 3, 5, 8, 8), (1, 2, 17, 16, 4), (2, 2, 64, 8, 12), (1, 4, 65, 32, 32), (3, 1, 40, 4, 6)]
        for dtype in (torch.float32, torch.float64):
            for ci, case in enumerate(cases):
                q, k, v = _qkv_causal(seed + 13 * ci + (4 if dtype == torch.float64 else 0), *case, dtype)
                what = f"q{tuple(q.shape)} v{tuple(v.shape)} {dtype}"
                out = rec(q, k, v)
                check_close(out, ref_rec(q, k, v), what=f"recurrent output ({what})")
                check_close(out, _quadratic(q, k, v, causal=True),
                            what=f"recurrent output vs masked O(n^2) computation ({what})")
                n += 1
        # The form, from the submitted source: a loop over the positions carrying one state.
        _recurrent_form(learner)
        for eps in (0.0, 0.5, 3.0):
            q, k, v = _qkv_causal(seed + 3, 2, 2, 9, 4, 3, torch.float64, shift=-1.0)
            check_close(rec(q, k, v, eps=eps), _quadratic(q, k, v, eps=eps, causal=True),
                        what=f"recurrent output, eps={eps}", hint="eps is added to the denominator phi(q_i)^T z_i, and only there.")
        q, k, v = _qkv_causal(seed + 4, 1, 2, 12, 8, 4, torch.float64, shift=-8.0)
        check_close(rec(q, k, v), _quadratic(q, k, v, causal=True),
                    what="recurrent output with tiny features (denominator close to eps)")
        _check_causal(rec, "recurrent form", seed + 6, (0, 7, 15, 21),
                      "A causal output must not depend on future tokens: is the current token added to the state at the right time?")
        # Long sequence, and no (n, n) matrix (measured from outside the notebook's process).
        q, k, v = _qkv_causal(seed + 5, 1, 1, 4096, 8, 8, torch.float32)
        out = _check_memory(learner, lambda: rec(q, k, v), "at n = 4096",
                            "causal_linear_attention_recurrent created an (n, n)-sized tensor: an RNN keeps one "
                            "(d_k, d_v) state and reads it one position at a time")
        check_close(out, _exact(ref.causal_linear_attention_chunked, q, k, v), what="recurrent output at n = 4096")
        assert n >= 12


# ====================================================================== causal, cumsum

def test_causal_linear_attention_cumsum(learner, ref, seed):
    cum, ref_cum = learner.causal_linear_attention_cumsum, ref.causal_linear_attention_cumsum
    with learner.patched(feature_map=ref.feature_map):
        n = 0
        cases = [(1, 1, 1, 4, 4), (2, 3, 5, 8, 8), (1, 2, 17, 16, 4), (2, 2, 64, 8, 12), (1, 4, 65, 32, 32),
                 (3, 1, 130, 4, 6), (1, 1, 300, 64, 16)]
        for dtype in (torch.float32, torch.float64):
            for ci, case in enumerate(cases):
                q, k, v = _qkv_causal(seed + 11 * ci + (2 if dtype == torch.float64 else 0), *case, dtype)
                what = f"q{tuple(q.shape)} v{tuple(v.shape)} {dtype}"
                out = cum(q, k, v)
                check_close(out, ref_cum(q, k, v), what=f"cumsum output ({what})")
                check_close(out, _quadratic(q, k, v, causal=True),
                            what=f"cumsum output vs masked O(n^2) computation ({what})")
                n += 1
        # The form, from the submitted source: vectorised cumulative sums.
        _cumsum_form(learner)
        for eps in (0.0, 0.5, 3.0):
            q, k, v = _qkv_causal(seed + 3, 2, 2, 9, 4, 3, torch.float64, shift=-1.0)
            check_close(cum(q, k, v, eps=eps), _quadratic(q, k, v, eps=eps, causal=True),
                        what=f"cumsum output, eps={eps}", hint="eps is added to the denominator phi(q_i)^T z_i, and only there.")
        q, k, v = _qkv_causal(seed + 4, 1, 2, 12, 8, 4, torch.float64, shift=-8.0)
        check_close(cum(q, k, v), _quadratic(q, k, v, causal=True),
                    what="cumsum output with tiny features (denominator close to eps)")
        # Long sequence.
        q, k, v = _qkv_causal(seed + 5, 1, 1, 2048, 8, 8, torch.float32)
        out = cum(q, k, v)
        check_close(out, ref_cum(q, k, v), what="cumsum output at n = 2048")
        check_close(out, _quadratic(q, k, v, causal=True), what="cumsum output vs masked O(n^2) computation at n = 2048")
        # No (n, n) matrix, measured from outside the notebook's process.
        q, k, v = _qkv_causal(seed + 5, 1, 1, 4096, 8, 8, torch.float32)
        out = _check_memory(learner, lambda: cum(q, k, v), "at n = 4096",
                            "causal_linear_attention_cumsum created an (n, n)-sized tensor: use cumulative sums "
                            "of phi(k_j) v_j^T, not a masked n x n matrix")
        check_close(out, ref_cum(q, k, v), what="cumsum output at n = 4096")
        _check_causal(cum, "cumsum form", seed + 6, (0, 7, 15, 21),
                      "A causal output must not depend on future tokens: check the cumulative sums (axis, inclusive).")
        assert n >= 14


# ====================================================================== causal, chunked

def test_causal_linear_attention_chunked(learner, ref, seed):
    chk, ref_chk = learner.causal_linear_attention_chunked, ref.causal_linear_attention_chunked
    with learner.patched(feature_map=ref.feature_map):
        n = 0
        cases = [(1, 1, 1, 4, 4), (2, 3, 5, 8, 8), (1, 2, 17, 16, 4), (2, 2, 64, 8, 12), (1, 4, 65, 32, 32),
                 (3, 1, 130, 4, 6), (1, 1, 300, 64, 16)]
        for dtype in (torch.float32, torch.float64):
            for ci, (B, H, L, dk, dv) in enumerate(cases):
                q, k, v = _qkv_causal(seed + 19 * ci + (6 if dtype == torch.float64 else 0), B, H, L, dk, dv, dtype)
                expected = _quadratic(q, k, v, causal=True)
                for cs in sorted({1, 3, 16, 64, L, L + 5} if L <= 64 else {7, 16, 64, 128}):
                    what = f"q{tuple(q.shape)} v{tuple(v.shape)} chunk_size={cs} {dtype}"
                    out = chk(q, k, v, chunk_size=cs)
                    check_close(out, ref_chk(q, k, v, chunk_size=cs), what=f"chunked output ({what})",
                                hint="Check the last (shorter) chunk, and that the state is carried from one chunk to the next.")
                    check_close(out, expected, what=f"chunked output vs masked O(n^2) computation ({what})")
                    n += 1
                # The default chunk_size is 64.
                check_close(chk(q, k, v), ref_chk(q, k, v),
                            what=f"chunked output with the default chunk_size (q{tuple(q.shape)}, {dtype})")
        # The form, from the submitted source: its own computation, cut by chunk_size.
        _chunked_form(learner)
        for eps in (0.0, 0.5, 3.0):
            q, k, v = _qkv_causal(seed + 3, 2, 2, 9, 4, 3, torch.float64, shift=-1.0)
            check_close(chk(q, k, v, chunk_size=4, eps=eps), _quadratic(q, k, v, eps=eps, causal=True),
                        what=f"chunked output, eps={eps}", hint="eps is added to the denominator phi(q_i)^T z_i, and only there.")
        q, k, v = _qkv_causal(seed + 4, 1, 2, 12, 8, 4, torch.float64, shift=-8.0)
        check_close(chk(q, k, v, chunk_size=5), _quadratic(q, k, v, causal=True),
                    what="chunked output with tiny features (denominator close to eps)")
        # Long sequence.
        q, k, v = _qkv_causal(seed + 5, 1, 1, 4096, 8, 8, torch.float32)
        check_close(chk(q, k, v, chunk_size=32), ref_chk(q, k, v, chunk_size=32), what="chunked output at n = 4096")
        check_close(chk(q, k, v, chunk_size=100), _quadratic(q, k, v, causal=True),
                    what="chunked output vs masked O(n^2) computation at n = 4096, chunk_size = 100")
        for cs in (1, 4, 5, 64):
            _check_causal(lambda a, b, c: chk(a, b, c, chunk_size=cs), f"chunked form (chunk_size={cs})", seed + 6,
                          (0, 3, 4, 7, 15, 21),
                          "A causal output must not depend on future tokens: check the mask inside a chunk and when the state is updated.")
        # Gradients flow through every chunk, and are the reference's.
        q, k, v = _qkv_causal(seed + 9, 1, 2, 10, 4, 4, torch.float64)
        _check_grads(chk, ref_chk, (q, k, v), "chunked, chunk_size=4", chunk_size=4)
        # The form, measured from outside the notebook's process: one state and blocks of
        # chunk_size, no (n, n) matrix and no state per position.
        q, k, v = _qkv_causal(seed + 5, 1, 1, CHUNKED_N, CHUNKED_D, CHUNKED_D, torch.float32)
        out = _check_memory(learner, lambda: chk(q, k, v, chunk_size=CHUNKED_C),
                            f"at n = {CHUNKED_N}, d = {CHUNKED_D}, chunk_size = {CHUNKED_C}",
                            "causal_linear_attention_chunked holds too much: one (d_k, d_v) state and "
                            "(chunk_size, chunk_size) blocks are all it needs, no (n, n) matrix and no state "
                            "per position", CHUNKED_BUDGET)
        check_close(out, _exact(ref_chk, q, k, v), what=f"chunked output at n = {CHUNKED_N}, d = {CHUNKED_D}")
        # n < chunk_size: one short chunk, and nothing of size chunk_size x chunk_size.
        q, k, v = _qkv_causal(seed + 10, 1, 1, SHORT_N, 8, 8, torch.float32)
        out = _check_memory(learner, lambda: chk(q, k, v, chunk_size=HUGE_CHUNK),
                            f"at n = {SHORT_N}, chunk_size = {HUGE_CHUNK}",
                            "with chunk_size larger than n, causal_linear_attention_chunked built something of size "
                            "chunk_size x chunk_size: a chunk is never longer than the sequence")
        check_close(out, _quadratic(q, k, v, causal=True), what=f"chunked output at n = {SHORT_N} < chunk_size = {HUGE_CHUNK}")
        assert n >= 50
