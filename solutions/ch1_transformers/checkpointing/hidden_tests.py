"""Hidden tests of the gradient-checkpointing exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain
tensors; ``ref`` is the solution notebook's code, here in the judge's process. The callables
handed to ``saved_tensor_bytes`` and the counting blocks handed to ``checkpointed_forward``
are in ``fixtures.py``: they run in the learner's process (``learner.fixture``) and, for the
expected values, in the judge (``ref.fixtures``).
"""
import math

import torch
from torch.utils.checkpoint import checkpoint_sequential

from dlcourse.testing import check_close, generator


# ====================================================================== saved_tensor_bytes

# (fixture, description, hand count in units of the input's size, or None)
CASES = [
    ("sin2", "sin(2a): sin saves its input", 1),
    ("exp_plus_one", "exp(a + 1): exp saves its output", 1),
    ("sin", "sin(a): the input itself is not counted", 0),
    ("plus_one", "a + 1: nothing is saved", 0),
    ("sin_plus_cos", "c = 3a; sin(c) + cos(c): one storage saved twice", 1),
    ("sin_of_slice", "sin of a slice of c = 3a: the whole storage of c counts", 1),
    ("two_slices", "sin and cos of two slices of one tensor: one storage", 1),
    ("two_storages", "(a + 1) * (a + 2): two storages", 2),
    ("dropout", "dropout: the mask counts although it needs no gradient", None),
]


def test_saved_tensor_bytes(learner, ref, seed):
    stb, ref_stb = learner.saved_tensor_bytes, ref.saved_tensor_bytes
    n = 0
    for ci, (shape, dtype) in enumerate([((10, 20), torch.float32), ((3, 7), torch.float64), ((1, 1), torch.float32),
                                         ((64, 33), torch.bfloat16), ((5, 4, 6), torch.float64),
                                         ((257,), torch.float32)]):
        g = generator(seed + ci)
        a = torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)
        unit = a.numel() * a.element_size()
        for name, what, expected in CASES:
            what = f"{what}, shape {tuple(shape)}, {dtype}"
            fn = getattr(ref.fixtures, name)
            ar = a.clone().requires_grad_(True)
            torch.manual_seed(seed)
            rout, rb = ref_stb(fn, ar)
            if expected is not None:
                assert rb == expected * unit  # the reference agrees with the hand count
            up = torch.randn(rout.shape, generator=generator(seed + 50 + ci), dtype=torch.float64).to(dtype)
            # every floating-point argument requires grad in the learner's process, and the
            # output is back-propagated there: the hooks must leave a working backward pass
            res, grads, _ = stb.grad(learner.fixture(name), a, upstream=(up, None))
            assert isinstance(res, tuple) and len(res) == 2, f"{what}: return (out, nbytes)"
            out, nb = res
            assert isinstance(nb, int), f"{what}: nbytes should be a Python int, got {type(nb).__name__}"
            assert nb == rb, f"{what}: wrong byte count (off by a factor {nb / max(rb, 1):.3g})"
            if name != "dropout":   # random: only the count is compared
                check_close(out, rout, what=f"{what}: out", hint="Return fn's output unchanged.")
                (rg,) = torch.autograd.grad(rout, ar, up)
                assert grads and grads[0] is not None, \
                    f"{what}: no gradient reaches the input through out (the hooks must hand every tensor back)"
                check_close(grads[0], rg, what=f"{what}: gradient through out",
                            hint="The hooks must hand every tensor back unchanged.")
            n += 1

    # output unchanged, backward still works and gives the usual gradients
    for ci, dtype in enumerate((torch.float32, torch.float64)):
        model = learner.fixture("mlp")(12, dtype, seed + ci)
        rmodel = ref.fixtures.mlp(12, dtype, seed + ci)
        x = torch.randn(9, 12, generator=generator(seed + 10 + ci), dtype=torch.float64).to(dtype)
        up = torch.randn(9, 12, generator=generator(seed + 30 + ci), dtype=torch.float64).to(dtype)
        params = learner.fixture("parameters_of")(model)     # a one-shot generator
        (out, nb), grads, _ = stb.grad(model, x, params=params, upstream=(up, None))
        xr = x.clone().requires_grad_(True)
        check_close(out, rmodel(xr), what=f"output of the MLP ({dtype})")
        _, rb = ref_stb(rmodel, xr, params=list(rmodel.parameters()))
        assert nb == rb, \
            f"MLP with params=model.parameters() ({dtype}): wrong byte count (off by a factor {nb / max(rb, 1):.3g}); " \
            "are the parameters and the inputs skipped (and is `params` a one-shot generator you iterate twice?)"
        assert rb == 9 * (36 + 36 + 12) * xr.element_size()  # fc1 out, GELU out, Tanh out (reference sanity)
        rgrads = torch.autograd.grad(rmodel(xr), [xr, *rmodel.parameters()], up)
        mine = [grads[0] if grads else None] + learner.fixture("param_grads")(model)
        for i, (ga, gb) in enumerate(zip(mine, rgrads)):
            assert ga is not None, f"gradient {i} after saved_tensor_bytes ({dtype}) is missing. " \
                                   "The hooks must hand every tensor back unchanged."
            check_close(ga, gb, what=f"gradient {i} after saved_tensor_bytes ({dtype})",
                        hint="The hooks must hand every tensor back unchanged.")
        # without params the weights' storages count
        (_, nb), _, _ = stb.grad(model, x, upstream=(up, None))
        _, rb = ref_stb(rmodel, xr)
        assert nb == rb, f"MLP without params ({dtype}): wrong byte count (off by a factor {nb / max(rb, 1):.3g})"

    # several inputs, a non-tensor input, and no grad at all
    a = torch.randn(6, 5, generator=generator(seed + 20), dtype=torch.float64)
    b = torch.randn(5, 4, generator=generator(seed + 21), dtype=torch.float64)
    up = torch.randn(6, 4, generator=generator(seed + 22), dtype=torch.float64)
    (_, nb), _, _ = stb.grad(learner.fixture("scaled_matmul"), a, b, 3.0, upstream=(up, None))
    assert nb == 6 * 5 * 8, "(a * s) @ b: only the product a * s counts (b is an input)"
    _, nb = learner.fixture("call_no_grad")(stb, learner.fixture("sin2"), a)
    assert nb == 0, "under torch.no_grad() nothing is saved"
    assert n >= 50


# ====================================================================== checkpointed_forward

def _sizes(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def _ckpt_sequential(blocks, x, k):
    return checkpoint_sequential(blocks, k, x, use_reentrant=False)


def _compare(what, out, grads, rout, rgrads, **tol):
    check_close(out, rout, what=f"output ({what})", hint="Does every block run once, in order?")
    assert len(grads) == len(rgrads), f"{what}: wrong number of gradients"
    for i, (ga, gb) in enumerate(zip(grads, rgrads)):
        assert ga is not None, f"{what}: gradient {i} is missing (None): is the graph cut somewhere?"
        check_close(ga, gb, what=f"gradient {i} ({what})", **tol)


def _learner_run(learner, blocks, x, k, up, x_grad, s):
    """Forward and backward of the learner's checkpointed_forward on blocks of its process.

    With an input that requires grad: through ``learner.checkpointed_forward.grad`` (the
    parameter gradients and the calls per block read back from the blocks). Without: the
    fixture runner, which also records warnings."""
    if x_grad:
        learner.fixture("seed")(s)
        out, xgrads, _ = learner.checkpointed_forward.grad(blocks, x, k, upstream=up)
        calls, pgrads = learner.fixture("stack_state")(blocks)
        return out, list(xgrads[:1]) + list(pgrads), calls, []
    out, grads, calls, warns = learner.fixture("run")(learner.checkpointed_forward, blocks,
                                                      x, k, up, False, s)
    return out, grads, calls, warns


def test_checkpointed_forward(learner, ref, seed):
    fx = ref.fixtures
    n = 0
    for ci, (nblocks, d, B) in enumerate([(1, 4, 3), (2, 5, 2), (5, 6, 4), (7, 4, 3), (8, 8, 5), (12, 4, 2)]):
        ks = sorted({1, 2, 3, nblocks // 2, nblocks - 1, nblocks} & set(range(1, nblocks + 1)))
        x = torch.randn(B, d, generator=generator(seed + 100 + ci), dtype=torch.float64)
        for k in ks:
            up = torch.randn(B, d, generator=generator(seed + k), dtype=torch.float64)
            for xgrad in (True, False):
                what = f"n={nblocks} blocks, segments={k}, input requires_grad={xgrad}"
                blocks = learner.fixture("stack")(nblocks, d, seed + ci)
                o, g, calls, warns = _learner_run(learner, blocks, x, k, up, xgrad, seed + k)
                ro, rg, _, _ = fx.run(fx.plain, fx.stack(nblocks, d, seed + ci), x, k, up, xgrad, seed + k)
                assert not any("use_reentrant" in m for m in warns), \
                    f"{what}: PyTorch warned about use_reentrant: pass use_reentrant=False explicitly"
                _compare(what, o, g, ro, rg, atol=1e-6, rtol=1e-6)
                # blocks in checkpointed segments run twice (forward + recomputation), the last segment once
                sz = _sizes(nblocks, k)
                expected_calls = [1] * nblocks if k == 1 else [2] * (nblocks - sz[-1]) + [1] * sz[-1]
                assert calls == expected_calls, \
                    f"{what}: the wrong blocks were recomputed in the backward pass (check the segment sizes, " \
                    "that the first n % segments segments are the longer ones, and that only the last segment is not checkpointed)"
                n += 1
                if nblocks % k == 0 and k > 1:
                    _, _, scalls, _ = fx.run(_ckpt_sequential, fx.stack(nblocks, d, seed + ci), x, k, up, xgrad, seed + k)
                    assert calls == scalls, \
                        f"{what}: differs from torch.utils.checkpoint.checkpoint_sequential (k divides n)"

    # dropout: the recomputation must reproduce the same random masks
    x = torch.randn(4, 5, generator=generator(seed + 8), dtype=torch.float64)
    up = torch.randn(4, 5, generator=generator(seed + 9), dtype=torch.float64)
    for k in (2, 3):
        blocks = learner.fixture("stack")(6, 5, seed + 7, p=0.3)
        o, g, _, _ = _learner_run(learner, blocks, x, k, up, True, seed + 9)
        ro, rg, _, _ = fx.run(fx.plain, fx.stack(6, 5, seed + 7, p=0.3), x, k, up, True, seed + 9)
        check_close(o, ro, what=f"output with dropout, segments={k}")
        for i, (ga, gb) in enumerate(zip(g, rg)):
            assert ga is not None, f"gradient {i} with dropout, segments={k} is missing (None)"
            check_close(ga, gb, what=f"gradient {i} with dropout, segments={k}",
                        hint="The recomputation must see the same dropout masks (preserve_rng_state).")

    # float32, an nn.ModuleList, a deeper stack
    blocks = learner.fixture("stack")(16, 8, seed + 11, torch.float32, module_list=True)
    x = torch.randn(6, 8, generator=generator(seed + 12))
    up = torch.randn(6, 8, generator=generator(seed))
    what = "float32, nn.ModuleList of 16 blocks, 4 segments"
    o, g, calls, _ = learner.fixture("run")(learner.checkpointed_forward, blocks,
                                            x, 4, up, False, seed)
    ro, rg, _, _ = fx.run(fx.plain, fx.stack(16, 8, seed + 11, torch.float32), x, 4, up, False, seed)
    _compare(what, o, g, ro, rg)
    assert calls == [2] * 12 + [1] * 4, "nn.ModuleList of 16 blocks, 4 segments: wrong blocks recomputed"

    # segments out of range
    for bad in (0, -1, 5):
        with learner.raises(ValueError):
            learner.checkpointed_forward(learner.fixture("stack")(4, 3, seed),
                                         torch.zeros(2, 3, dtype=torch.float64), bad)
    assert n >= 50

    # Memory, measured from outside the learner's process (learner.memory): the forward pass
    # of 16 blocks (float32, batch 4096, d = 64: a boundary tensor is 1 MiB, a block keeps
    # 9 MiB) in 4 segments keeps 3 boundaries + the last segment's 36 MiB; without
    # checkpointing it keeps ~143 MiB. Measured peaks above the level before the call
    # (including the copies of x and of the output that cross the socket):
    #   contract runner (VmHWM of the forked kernel): solution 46-64 MiB over 14 runs, the 3
    #     variants 47-62, the other mutants 27-55, no_checkpoint 160;
    #   grading sandbox (cgroup v1 memory.max_usage_in_bytes): solution 46-63 MiB over 3
    #     runs, variant tensor_split_bounds 53, no_checkpoint 152-154.
    # Budget 95 MiB: 30 MiB above the largest correct peak, 55 below the plain stack.
    # Measured after the small cases above on purpose: the first large checkpointed call
    # of a process also pays one-time costs (lazy imports, library code paged in: up to
    # +80 MiB measured when nothing ran before).
    blocks = learner.fixture("stack")(16, 64, seed + 13, torch.float32)
    x = torch.randn(4096, 64, generator=generator(seed + 14))
    with learner.memory() as m:
        out = learner.checkpointed_forward(blocks, x, 4)
    with torch.no_grad():
        check_close(out, fx.plain(fx.stack(16, 64, seed + 13, torch.float32), x),
                    what="output (float32, 16 blocks, batch 4096, 4 segments)")
    assert m.peak < MEMORY_BUDGET, \
        f"16 blocks in 4 segments (batch 4096, d = 64, float32): the forward pass used {m.peak / 2**20:.0f} MiB, " \
        "about what the plain stack keeps: is every segment but the last checkpointed?"


MEMORY_BUDGET = 95 * 2**20


# ====================================================================== best_segments

def _brute(n, a, b):
    costs = [(k * b + -(-n // k) * a, k) for k in range(1, n + 1)] if isinstance(a, int) and isinstance(b, int) \
        else [(k * b + math.ceil(n / k) * a, k) for k in range(1, n + 1)]
    return min(costs)[1]


def test_best_segments(learner, ref, seed):
    best = learner.best_segments
    n = 0
    for nn_ in list(range(1, 41)) + [49, 50, 63, 64, 100, 101, 144, 200, 257, 1000]:
        for a, b in ((1, 1), (9, 1), (1, 9), (36864, 4096), (3, 7), (1000, 1), (1, 1000), (2.5, 1.0)):
            k = best(nn_, a, b)
            assert isinstance(k, int), \
                f"n={nn_}: return a Python int, got {type(k).__name__}"
            bk = _brute(nn_, a, b)
            assert bk == ref.best_segments(nn_, a, b)
            assert 1 <= k <= nn_, f"n={nn_}, block_bytes={a}, boundary_bytes={b}: k must be in 1..n"
            assert k == bk, \
                f"n={nn_}, block_bytes={a}, boundary_bytes={b}: not the minimiser of M(k) " \
                "(the ceiling, the weights of the two terms, ties to the smallest k, and k = n are all allowed)"
            n += 1
    # defaults are a = b = 1; perfect squares give sqrt(n)
    for m in range(1, 16):
        assert best(m * m) == m, f"n={m * m} with the default sizes should give {m} segments"
    assert n >= 300
