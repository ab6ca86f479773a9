"""Hidden tests of the contrastive-losses exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process.

Large scores are built from small integers (and, for InfoNCE, from vectors whose cosine
similarities are multiples of 1/4, divided by a power-of-two temperature), so every
correct answer sees exactly the same logits in every dtype and what is compared is the
log-sum-exp (or log-sigmoid) alone.
"""
import math

import torch
import torch.nn.functional as F

from dlcourse.testing import check_close, check_tensor, generator

F64 = torch.float64
HALF = (torch.float16, torch.bfloat16)
# half precision: inputs exact, results rounded to 11 (float16) or 8 (bfloat16) bits, and the
# learner's sums may run in that precision
HALF_TOL = {torch.float16: dict(rtol=1e-2, atol=1e-2), torch.bfloat16: dict(rtol=3e-2, atol=3e-2)}
LSE_HINT = ("exp(s) overflows for large scores (exp then log gives inf or NaN): use a log-sum-exp "
            "(torch.logsumexp, log_softmax, F.cross_entropy) or F.logsigmoid.")
ONE = torch.tensor(1.0, dtype=F64)


def _rand(g, *shape):
    return torch.randn(*shape, generator=g, dtype=F64)


def _ref_grads(fn, tensors, *rest):
    """The reference's value and gradients with respect to the floating tensors, in their dtype."""
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = fn(*leaves, *rest)
    out.backward()
    return out.detach(), [t.grad for t in leaves]


def _check_grads(got, want, names, what, **tol):
    assert len(got) == len(want), f"gradients ({what}): expected one per input tensor"
    for name, g, w in zip(names, got, want):
        assert g is not None, f"no gradient reaches {name} ({what}): is the loss computed from it (no detach, no .item())?"
        check_tensor(g, shape=w.shape, dtype=w.dtype, what=f"gradient with respect to {name} ({what})")
        assert bool(torch.isfinite(g).all()), f"gradient with respect to {name} ({what}) contains NaN or inf"
        check_close(g, w, what=f"gradient with respect to {name} ({what})", **tol)


def _check_value(out, want, what, hint="", **tol):
    check_tensor(out, shape=(), dtype=want.dtype, what=f"{what}: the loss (a 0-dim tensor in the input dtype)")
    check_close(out, want, what=what, hint=hint, **tol)


# --- 1. margin contrastive loss ------------------------------------------------------------

# F.pairwise_distance (an accepted answer) adds eps = 1e-6 to the difference: values to ~1e-5
MARGIN_TOL = dict(rtol=1e-4, atol=1e-5)


def _pairs(seed, n, d, margin, dtype, identical=0.0):
    """Pairs at distances spread over [0, 2 * margin], some identical, random labels."""
    g = generator(seed)
    z1 = _rand(g, n, d)
    u = _rand(g, n, d)
    u = u / u.norm(dim=-1, keepdim=True)
    r = 2 * margin * torch.rand(n, 1, generator=g, dtype=F64)
    r[torch.rand(n, generator=g) < identical] = 0.0
    similar = torch.rand(n, generator=g) < 0.5
    return z1.to(dtype), (z1 + r * u).to(dtype), similar


def test_margin_contrastive_loss(learner, ref, seed):
    f, rf = learner.margin_contrastive_loss, ref.margin_contrastive_loss
    n_cases = 0
    for ci, (n, d, margin, dtype) in enumerate([
        (8, 4, 1.0, torch.float32), (5, 16, 2.0, F64), (1, 3, 0.5, F64), (64, 32, 1.0, torch.float32),
        (7, 2, 10.0, F64), (12, 8, 0.25, torch.float32), (30, 5, 3.0, F64),
    ]):
        z1, z2, similar = _pairs(seed + ci, n, d, margin, dtype)
        labels = [("random labels", similar), ("all similar", torch.ones(n, dtype=torch.bool)),
                  ("all dissimilar", torch.zeros(n, dtype=torch.bool))]
        for name, sim in labels:
            what = f"{name}, N={n} d={d} margin={margin} {dtype}"
            want = rf(z1.double(), z2.double(), sim, margin).to(dtype)
            _check_value(f(z1, z2, sim, margin), want, what, **MARGIN_TOL)
            # independently: 1/2 D^2 for similar pairs, 1/2 relu(m - D)^2 for the others
            dist = (z1.double() - z2.double()).norm(dim=-1)
            direct = 0.5 * torch.where(sim, dist**2, F.relu(margin - dist) ** 2).mean()
            check_close(f(z1, z2, sim, margin), direct.to(dtype), what=f"{what}, vs the definition", **MARGIN_TOL)
            n_cases += 1
    # the default margin is 1
    z1, z2, sim = _pairs(seed + 50, 9, 6, 1.0, F64)
    _check_value(f(z1, z2, sim), rf(z1, z2, sim, 1.0), "default margin (1.0)", **MARGIN_TOL)
    # half precision, moderate distances
    for dtype in HALF:
        z1, z2, sim = _pairs(seed + 60, 10, 8, 1.5, F64)
        z1, z2 = z1.to(dtype), z2.to(dtype)
        want = rf(z1.double(), z2.double(), sim, 1.5).to(dtype)
        _check_value(f(z1, z2, sim, 1.5), want, f"N=10 d=8 margin=1.5 {dtype}", **HALF_TOL[dtype])
    # the backward pass, against the reference
    for ci, (n, d, margin, dtype) in enumerate([(8, 4, 1.0, torch.float32), (6, 5, 2.0, F64), (20, 3, 0.5, F64)]):
        z1, z2, sim = _pairs(seed + 70 + ci, n, d, margin, dtype)
        what = f"N={n} d={d} margin={margin} {dtype}"
        out, grads, _ = f.grad(z1, z2, sim, margin, upstream=ONE)
        _, want = _ref_grads(rf, (z1, z2), sim, margin)
        _check_grads(grads, want, ("z1", "z2"), what, **MARGIN_TOL)
    # identical embeddings: finite gradients, zero for an identical similar pair
    z1, z2, sim = _pairs(seed + 80, 12, 6, 1.0, F64, identical=0.5)
    same = (z1 == z2).all(dim=-1)
    assert same.any() and (same & sim).any() and (same & ~sim).any(), "test set-up: no identical pairs"
    _, grads, _ = f.grad(z1, z2, sim, 1.0, upstream=ONE)
    for name, g in zip(("z1", "z2"), grads):
        assert g is not None, f"no gradient reaches {name}: is the loss computed from it?"
        assert bool(torch.isfinite(g).all()), (
            f"gradient with respect to {name} contains NaN or inf for pairs with identical embeddings: the "
            "derivative of sqrt at 0 is infinite (see 'Identical embeddings')")
        check_close(g[same & sim], torch.zeros_like(g[same & sim]), what=f"gradient with respect to {name} "
                    "for identical similar pairs (1/2 D^2 is flat at D = 0)", **MARGIN_TOL)
    _, want = _ref_grads(rf, (z1, z2), sim, 1.0)
    keep = ~(same & ~sim)     # at D = 0 any direction pushes a dissimilar pair apart: not compared
    for name, g, w in zip(("z1", "z2"), grads, want):
        check_close(g[keep], w[keep], what=f"gradient with respect to {name} (some identical pairs)", **MARGIN_TOL)
    assert n_cases >= 21


# --- 2. negative sampling ------------------------------------------------------------------

def _int_embeddings(seed, n, d, high, dtype):
    g = generator(seed)
    mk = lambda: torch.randint(-high, high + 1, (n, d), generator=g).to(F64)
    c, o = mk(), mk()
    assert torch.equal((c @ o.T).to(dtype).double(), c @ o.T), "test set-up: scores not representable"
    return c.to(dtype), o.to(dtype)


def _ns_library(center, context):
    """Binary cross-entropy with logits: target 1 on the diagonal, 0 elsewhere, summed per row."""
    s = torch.matmul(center, context.mT)   # not the solution's own line: feedback shows the learner's code
    return F.binary_cross_entropy_with_logits(s, torch.eye(len(s), dtype=s.dtype), reduction="sum") / len(s)


def test_negative_sampling_loss(learner, ref, seed):
    f, rf = learner.negative_sampling_loss, ref.negative_sampling_loss
    n_cases = 0
    for ci, (n, d, std, dtype) in enumerate([
        (8, 4, 0.7, torch.float32), (5, 16, 0.3, F64), (1, 3, 1.0, F64), (64, 32, 0.25, torch.float32),
        (7, 2, 2.0, F64), (2, 8, 0.5, torch.float32), (30, 5, 0.6, F64),
    ]):
        g = generator(seed + ci)
        center = (std * _rand(g, n, d)).to(dtype)
        context = (0.5 * center.double() + std * _rand(g, n, d)).to(dtype)   # observed pairs agree
        what = f"N={n} d={d} {dtype}"
        out = f(center, context)
        _check_value(out, rf(center, context), what)
        check_close(out, _ns_library(center, context), what=f"{what}, vs binary_cross_entropy_with_logits")
        n_cases += 1
    # large scores: up to about 1e4 in float32/float64, about 20 in float16, about 100 in bfloat16
    for ci, (n, d, high, dtype, tol) in enumerate([
        (6, 4, 50, torch.float32, dict(rtol=1e-5, atol=1e-3)), (9, 3, 60, F64, {}),
        (5, 4, 2, torch.float16, HALF_TOL[torch.float16]), (6, 2, 7, torch.bfloat16, HALF_TOL[torch.bfloat16]),
    ]):
        center, context = _int_embeddings(seed + 20 + ci, n, d, high, dtype)
        what = f"scores up to {int((center.double() @ context.double().T).abs().max())}, N={n} {dtype}"
        want = rf(center.double(), context.double()).to(dtype)
        _check_value(f(center, context), want, what, hint=LSE_HINT, **tol)
        n_cases += 1
    # the backward pass, at ordinary and at large scores
    for ci, (n, d, dtype, large) in enumerate([(8, 4, torch.float32, False), (6, 5, F64, False),
                                               (7, 3, F64, True), (1, 4, F64, False)]):
        if large:
            center, context = _int_embeddings(seed + 40, n, d, 60, dtype)
        else:
            g = generator(seed + 30 + ci)
            center, context = (0.6 * _rand(g, n, d)).to(dtype), (0.6 * _rand(g, n, d)).to(dtype)
        what = f"N={n} d={d} {dtype}" + (", scores up to about 1e4" if large else "")
        _, grads, _ = f.grad(center, context, upstream=ONE)
        _, want = _ref_grads(rf, (center, context))
        _check_grads(grads, want, ("center", "context"), what)
    assert n_cases >= 11


# --- 3. InfoNCE ----------------------------------------------------------------------------

def _views(seed, n, d, dtype):
    """Two correlated views with rows of very different norms (cosine similarity ignores them)."""
    g = generator(seed)
    z1 = _rand(g, n, d)
    z2 = z1 + 0.8 * _rand(g, n, d)
    z1 = z1 * torch.exp(_rand(g, n, 1))
    z2 = z2 * torch.exp(_rand(g, n, 1))
    return z1.to(dtype), z2.to(dtype)


def _ternary_views(seed, n, d, dtype):
    """Rows with four entries +-1, the rest 0: norms exactly 2, cosines multiples of 1/4,
    rows scaled by powers of two (exact in every dtype)."""
    g = generator(seed)

    def rows():
        z = torch.zeros(n, d, dtype=F64)
        for i in range(n):
            idx = torch.randperm(d, generator=g)[:4]
            z[i, idx] = torch.randint(0, 2, (4,), generator=g).to(F64) * 2 - 1
        return z * 2.0 ** torch.randint(-2, 3, (n, 1), generator=g)

    z1 = rows()
    z2 = rows()
    z2[: n // 2] = z1[: n // 2] * 2       # half the positives identical up to scale
    return z1.to(dtype), z2.to(dtype)


def _nce_library(z1, z2, temperature):
    logits = F.normalize(z1, dim=-1) @ F.normalize(z2, dim=-1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(logits)))


def test_info_nce(learner, ref, seed):
    f, rf = learner.info_nce, ref.info_nce
    n_cases = 0
    for ci, (n, d, tau, dtype) in enumerate([
        (8, 16, 0.1, torch.float32), (5, 3, 0.5, F64), (1, 4, 0.07, F64), (32, 64, 0.2, torch.float32),
        (6, 8, 1.0, F64), (4, 2, 0.05, F64), (17, 5, 0.3, torch.float32), (3, 7, 2.0, F64),
    ]):
        z1, z2 = _views(seed + ci, n, d, dtype)
        what = f"N={n} d={d} temperature={tau} {dtype}"
        out = f(z1, z2, tau)
        _check_value(out, rf(z1, z2, tau), what)
        check_close(out, _nce_library(z1, z2, tau), what=f"{what}, vs F.cross_entropy on the cosine logits")
        n_cases += 1
    # the default temperature is 0.1
    z1, z2 = _views(seed + 10, 7, 6, F64)
    _check_value(f(z1, z2), rf(z1, z2, 0.1), "default temperature (0.1)")
    # large logits: 1/temperature = 8192 (logits up to 8192) in float32/float64, 16 in float16,
    # 128 in bfloat16; the cosines are exact, so every dtype sees the same logits
    for ci, (n, d, inv_tau, dtype, tol) in enumerate([
        (8, 12, 2**13, torch.float32, dict(rtol=1e-5, atol=1e-3)), (10, 8, 2**13, F64, {}),
        (8, 12, 2**4, torch.float16, HALF_TOL[torch.float16]), (8, 12, 2**7, torch.bfloat16, HALF_TOL[torch.bfloat16]),
    ]):
        z1, z2 = _ternary_views(seed + 20 + ci, n, d, dtype)
        tau = 1.0 / inv_tau
        what = f"temperature 1/{inv_tau} (logits up to {inv_tau}), N={n} {dtype}"
        want = rf(z1.double(), z2.double(), tau).to(dtype)
        _check_value(f(z1, z2, tau), want, what, hint=LSE_HINT, **tol)
        if dtype in (torch.float32, F64):
            check_close(f(z1, z2, tau), _nce_library(z1, z2, tau), what=f"{what}, vs F.cross_entropy",
                        hint=LSE_HINT, **tol)
        n_cases += 1
    # the backward pass
    for ci, (n, d, tau, dtype) in enumerate([(8, 6, 0.1, torch.float32), (6, 5, 0.5, F64), (12, 3, 0.05, F64)]):
        z1, z2 = _views(seed + 30 + ci, n, d, dtype)
        what = f"N={n} d={d} temperature={tau} {dtype}"
        _, grads, _ = f.grad(z1, z2, tau, upstream=ONE)
        _, want = _ref_grads(rf, (z1, z2), tau)
        _check_grads(grads, want, ("z1", "z2"), what)
    z1, z2 = _ternary_views(seed + 40, 8, 12, F64)
    _, grads, _ = f.grad(z1, z2, 2.0**-13, upstream=ONE)
    _, want = _ref_grads(rf, (z1, z2), 2.0**-13)
    _check_grads(grads, want, ("z1", "z2"), "temperature 1/8192, float64")
    assert n_cases >= 12


# --- 4. the InfoNCE bound on mutual information --------------------------------------------

def _scores(seed, n, dtype, boost):
    g = generator(seed)
    s = 2 * _rand(g, n, n) + boost * torch.eye(n, dtype=F64) + _rand(g, 1, n)   # columns shifted too
    return s.to(dtype)


def test_infonce_mi_bound(learner, ref, seed):
    f, rf = learner.infonce_mi_bound, ref.infonce_mi_bound
    n_cases = 0
    for ci, (n, boost, dtype) in enumerate([
        (8, 2.0, torch.float32), (5, 0.0, F64), (1, 1.0, F64), (64, 4.0, torch.float32),
        (2, 3.0, F64), (300, 6.0, F64), (13, -1.0, torch.float32),
    ]):
        s = _scores(seed + ci, n, dtype, boost)
        what = f"N={n} {dtype}"
        out = f(s)
        _check_value(out, rf(s), what)
        library = math.log(n) - F.cross_entropy(s, torch.arange(n))
        check_close(out, library, what=f"{what}, vs log N - F.cross_entropy")
        assert out.item() <= math.log(n) + 1e-5, f"{what}: the bound exceeds log N"
        # a constant added to a row (a function of x_i alone) changes nothing
        shifted = (s.double() + 5 * _rand(generator(seed + 100 + ci), n, 1)).to(dtype)
        check_close(f(shifted), rf(shifted), what=f"{what}, rows shifted by constants")
        n_cases += 1
    # large scores: integers up to about 1e4 (float32/float64), 20 (float16), 100 (bfloat16)
    for ci, (n, high, dtype, tol) in enumerate([
        (9, 10000, torch.float32, dict(rtol=1e-5, atol=1e-3)), (7, 12000, F64, {}),
        (6, 20, torch.float16, HALF_TOL[torch.float16]), (8, 100, torch.bfloat16, HALF_TOL[torch.bfloat16]),
    ]):
        s = torch.randint(-high, high + 1, (n, n), generator=generator(seed + 20 + ci)).to(dtype)
        s.diagonal().copy_(torch.randint(high // 2, high + 1, (n,), generator=generator(seed + 30 + ci)).to(dtype))
        what = f"scores up to {high}, N={n} {dtype}"
        _check_value(f(s), rf(s.double()).to(dtype), what, hint=LSE_HINT, **tol)
        n_cases += 1
    # the backward pass
    for ci, (n, dtype) in enumerate([(8, torch.float32), (6, F64), (40, F64)]):
        s = _scores(seed + 50 + ci, n, dtype, 2.0)
        _, grads, _ = f.grad(s, upstream=ONE)
        _, want = _ref_grads(rf, (s,))
        _check_grads(grads, want, ("scores",), f"N={n} {dtype}")
    s = torch.randint(-10000, 10001, (7, 7), generator=generator(seed + 60)).to(F64)
    _, grads, _ = f.grad(s, upstream=ONE)
    _check_grads(grads, _ref_grads(rf, (s,))[1], ("scores",), "scores up to 1e4, float64")
    assert n_cases >= 11
