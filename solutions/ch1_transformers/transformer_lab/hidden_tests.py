"""Hidden tests of the small-Transformer exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary; ``ref`` is the solution
notebook's code in the judge. Parts that build on earlier parts run with the reference
versions of those parts (``learner.patched``). Part 4 hands the learner's loop a small model
of ``fixtures.py`` that trains in the notebook's process, then reads the trained weights back
as data and measures them here on held-out sequences drawn from the term seed. Part 5 hands
the learner's function a model whose every forward pass is computed here, in the judge (a
stand-in for ``TinyTransformer``), and records the positions and the cache length of each
call the learner's decoding makes.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.judge.channel import LearnerError
from dlcourse import wire
from dlcourse.testing import check_close, check_tensor, generator


def _load(mine, state, what):
    try:
        mine.load_state_dict(state)
    except LearnerError as e:
        raise AssertionError(f"{what}: cannot copy the reference weights into your module (check the "
                             f"attribute names and layer types of the docstring): {e.message[:300]}") from None


def _randomised(module, seed, scale=0.3):
    """Random weights (LayerNorm gains near 1), so that no test relies on the initialisation."""
    g = generator(seed)
    with torch.no_grad():
        for name, t in module.named_parameters():
            r = torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.dtype)
            t.copy_(1 + scale * r if ("norm" in name and name.endswith("weight")) else scale * r)
    return module


def _padding(B, L, g, full_row=None):
    """Random key padding (True = pad), at least one real key per row, except row ``full_row``."""
    pad = torch.rand(B, L, generator=g) < 0.3
    pad[:, 0] = False
    if full_row is not None:
        pad[full_row] = True
    return pad


# --------------------------------------------------------------------------- part 1

def test_sinusoidal_encoding(learner, ref, seed):
    g = generator(seed)
    cases = [(torch.arange(7), 8), (torch.arange(1), 2), (torch.arange(33), 64), (torch.arange(5, 12), 16),
             (torch.tensor([40, 3, 17, 0]), 6), (torch.randint(0, 5000, (25,), generator=g), 32),
             (torch.arange(4000, 4096), 130)]
    for positions, d in cases:
        truth = ref.sinusoidal_encoding(positions, d, torch.float64)
        what = f"positions {positions.tolist()[:4]}{'...' if len(positions) > 4 else ''}, d_model={d}"
        out = learner.sinusoidal_encoding(positions, d, torch.float64)
        check_close(out, truth, what=f"encoding in float64 ({what})",
                    hint="Column 2i is sin(p / 10000**(2i/d)), column 2i+1 the cosine; rows follow the given positions.")
        out = learner.sinusoidal_encoding(positions, d)
        # float32 angles are off by about p * 2**-23 radians: allow that, and nothing more
        tol = 1e-6 + 4e-7 * float(positions.max())
        check_close(out, truth.float(), what=f"encoding in float32, the default ({what})", rtol=0, atol=tol)
        for half in (torch.bfloat16, torch.float16):
            out = learner.sinusoidal_encoding(positions, d, half)
            check_close(out, truth.to(half), what=f"encoding in {half} ({what})", rtol=0, atol=1e-2,
                        hint="Compute the angles in float32 or wider and convert only the result: "
                             "a position such as 1000 is not even representable exactly in half precision.")
    # the identity behind relative positions: PE(p + k) is a rotation of PE(p), pair by pair
    p, k, d = torch.arange(0, 50), 7, 16
    a, b = learner.sinusoidal_encoding(p, d, torch.float64), learner.sinusoidal_encoding(p + k, d, torch.float64)
    w = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    c, s = torch.cos(k * w), torch.sin(k * w)
    rotated = torch.stack([a[:, 0::2] * c + a[:, 1::2] * s, a[:, 1::2] * c - a[:, 0::2] * s], dim=-1).flatten(1)
    check_close(b, rotated, what="PE(p + 7) as a rotation of PE(p) (sin(a+b), cos(a+b) identities)")


# --------------------------------------------------------------------------- part 2

_MHA_CONFIGS = [(16, 4, 2, 5), (24, 3, 3, 7), (8, 1, 1, 1), (32, 8, 2, 9), (12, 2, 4, 6)]


def _mha_pair(learner, ref, d, h, dtype, seed):
    theirs = _randomised(ref.MultiHeadAttention(d, h), seed).to(dtype)
    mine = learner.MultiHeadAttention(d, h)
    mine.to(dtype)
    _load(mine, theirs.state_dict(), f"MultiHeadAttention({d}, {h})")
    return mine, theirs


def _check_mha(mine, theirs, x, what, **kw):
    got = mine(x, **kw)
    assert isinstance(got, (tuple, list)) and len(got) == 3 and isinstance(got[2], (tuple, list)) and len(got[2]) == 2, \
        f"{what}: forward must return (output, weights, (k, v))"
    with torch.no_grad():
        out, w, (k, v) = theirs(x, **kw)
    hint = "Split heads as (B, L, h, d_head) then transpose; masks before the softmax; the cache is appended on the sequence axis."
    check_close(got[0], out, what=f"output ({what})", hint=hint)
    check_close(got[1], w, what=f"weights ({what})", hint=hint)
    check_close(got[2][0], k, what=f"returned keys ({what})", hint="(k, v): the cached keys followed by the new ones, (B, h, T + L, d_head).")
    check_close(got[2][1], v, what=f"returned values ({what})")
    return got


def test_multi_head_attention(learner, ref, seed):
    n = 0
    for ci, (d, h, B, L) in enumerate(_MHA_CONFIGS):
        for dtype in (torch.float32, torch.float64):
            mine, theirs = _mha_pair(learner, ref, d, h, dtype, seed + 10 * ci)
            g = generator(seed + 7 * ci)
            x = torch.randn(B, L, d, generator=g, dtype=torch.float64).to(dtype)
            cfg = f"d_model={d}, heads={h}, input {tuple(x.shape)}, {dtype}"
            pad = _padding(B, L, g, full_row=B - 1 if B > 1 else None)
            _check_mha(mine, theirs, x, f"no mask, {cfg}")
            _check_mha(mine, theirs, x, f"causal, {cfg}", causal=True)
            _check_mha(mine, theirs, x, f"key_padding_mask (True = pad), {cfg}", key_padding_mask=pad)
            _check_mha(mine, theirs, x, f"causal and padding, {cfg}", key_padding_mask=pad, causal=True)
            # the library's layer on the same weights (rows with no allowed key excepted: it returns NaN there)
            lib = nn.MultiheadAttention(d, h, batch_first=True).to(dtype)
            with torch.no_grad():
                lib.in_proj_weight.copy_(torch.cat([theirs.q_proj.weight, theirs.k_proj.weight, theirs.v_proj.weight]))
                lib.in_proj_bias.copy_(torch.cat([theirs.q_proj.bias, theirs.k_proj.bias, theirs.v_proj.bias]))
                lib.out_proj.load_state_dict(theirs.out_proj.state_dict())
                causal_mask = ~torch.ones(L, L, dtype=torch.bool).tril()
                lo, lw = lib(x, x, x, attn_mask=causal_mask, need_weights=True, average_attn_weights=False)
            out, w, _ = mine(x, causal=True)
            check_close(out, lo, what=f"causal output vs torch.nn.MultiheadAttention ({cfg})")
            check_close(w, lw, what=f"causal weights vs torch.nn.MultiheadAttention ({cfg})")
            # the cache: the first T tokens, then the rest with the reference's (k, v) of the first T
            for T in sorted({0, 1, L // 2, L - 1}) if L > 1 else [0]:
                with torch.no_grad():
                    _, _, cache = theirs(x[:, :T], causal=True) if T else (None, None, None)
                rest = x[:, T:]
                kw = dict(causal=True, cache=cache) if T else dict(causal=True)
                got = _check_mha(mine, theirs, rest, f"causal with a cache of {T} positions, {cfg}", **kw)
                with torch.no_grad():
                    full, _, _ = theirs(x, causal=True)
                check_close(got[0], full[:, T:], what=f"output with a cache of {T} positions vs the same rows of a full run ({cfg})",
                            hint="New query i sits at position T + i and may see every key j <= T + i.")
                if T and B > 1:
                    pad_all = _padding(B, L, g)
                    _check_mha(mine, theirs, rest, f"causal, padding and a cache of {T} positions, {cfg}",
                               key_padding_mask=pad_all, **kw)
                    _check_mha(mine, theirs, rest, f"not causal, a cache of {T} positions, {cfg}", cache=cache)
            n += 1
    # very large scores: a softmax that does not subtract the row maximum overflows
    for dtype in (torch.float32, torch.float64):
        mine, theirs = _mha_pair(learner, ref, 16, 2, dtype, seed + 99)
        x = 300 * torch.randn(2, 6, 16, generator=generator(seed + 98), dtype=torch.float64).to(dtype)
        _check_mha(mine, theirs, x, f"very large scores, {dtype}", causal=True)
    # backward pass, with a batch row whose every key is padding
    mine, theirs = _mha_pair(learner, ref, 16, 4, torch.float64, seed + 77)
    g = generator(seed + 78)
    x = torch.randn(3, 6, 16, generator=g, dtype=torch.float64)
    pad = _padding(3, 6, g, full_row=1)
    up = torch.randn(3, 6, 16, generator=g, dtype=torch.float64)
    xr = x.clone().requires_grad_(True)
    out, _, _ = theirs(xr, key_padding_mask=pad, causal=True)
    out.backward(up)
    got, (gx,), pgrads = mine.grad(x, key_padding_mask=pad, causal=True, upstream=(up,))
    assert gx is not None, "no gradient reaches the input: is the output computed from x with torch operations?"
    assert torch.isfinite(gx).all(), "NaN or inf in the gradient of the input (a query with no allowed key must give zero, finite gradients)"
    check_close(gx, xr.grad, what="gradient of the input (causal, padding, a row with no allowed key)")
    for name, t in theirs.named_parameters():
        got_g = pgrads.get(name)
        assert got_g is not None, f"no gradient reaches {name}"
        check_close(got_g, t.grad, what=f"gradient of {name}")
    assert n == 2 * len(_MHA_CONFIGS)


# --------------------------------------------------------------------------- part 3

_MODEL_CONFIGS = [  # vocab, d_model, heads, depth, causal, use_positions
    (11, 16, 4, 2, False, True), (7, 8, 2, 1, True, True), (13, 24, 3, 3, True, True),
    (5, 16, 2, 2, False, False), (9, 32, 4, 1, True, False), (6, 12, 3, 2, False, True),
]


def _model_pair(learner, ref, cfg, dtype, seed):
    V, d, h, depth, causal, pos = cfg
    torch.manual_seed(seed)
    theirs = _randomised(ref.TinyTransformer(V, d, h, depth, causal=causal, use_positions=pos), seed).to(dtype)
    mine = learner.TinyTransformer(V, d, h, depth, causal=causal, use_positions=pos)
    mine.to(dtype)
    name = f"TinyTransformer({V}, {d}, {h}, {depth}, causal={causal}, use_positions={pos})"
    _load(mine, theirs.state_dict(), name)
    nparams = sum(t.numel() for t in mine.params()["params"].values())
    assert nparams == sum(t.numel() for t in theirs.parameters()), f"{name}: unexpected number of parameters"
    return mine, theirs, name


def _check_model(mine, theirs, tokens, what, **kw):
    got = mine(tokens, **kw)
    assert isinstance(got, (tuple, list)) and len(got) == 2, f"{what}: forward must return (logits, cache)"
    with torch.no_grad():
        logits, cache = theirs(tokens, **kw)
    check_close(got[0], logits, what=f"logits ({what})",
                hint="Pre-norm blocks (x + attn(LN1(x)), x + mlp(LN2(x))), positions added to the embeddings, final LayerNorm.")
    assert isinstance(got[1], (list, tuple)) and len(got[1]) == len(cache), f"{what}: the cache must hold one (k, v) per block"
    for i, ((k, v), (rk, rv)) in enumerate(zip(got[1], cache)):
        check_close(k, rk, what=f"cached keys of block {i} ({what})")
        check_close(v, rv, what=f"cached values of block {i} ({what})")
    return got


def test_tiny_transformer(learner, ref, seed):
    with learner.patched(sinusoidal_encoding=ref.sinusoidal_encoding, MultiHeadAttention=ref.MultiHeadAttention):
        for ci, cfg in enumerate(_MODEL_CONFIGS):
            V, d, h, depth, causal, pos = cfg
            for dtype in (torch.float32, torch.float64):
                mine, theirs, name = _model_pair(learner, ref, cfg, dtype, seed + 13 * ci)
                g = generator(seed + 5 * ci)
                B, L = 3, 9
                tokens = torch.randint(0, V, (B, L), generator=g)
                what = f"{name}, tokens {tuple(tokens.shape)}, {dtype}"
                _check_model(mine, theirs, tokens, what)
                _check_model(mine, theirs, tokens, f"{what}, key_padding_mask", key_padding_mask=_padding(B, L, g))
                if causal:
                    for T in (1, 4, 8):
                        with torch.no_grad():
                            _, cache = theirs(tokens[:, :T])
                            full, _ = theirs(tokens)
                        got = _check_model(mine, theirs, tokens[:, T:], f"{what}, a cache of {T} positions", cache=cache)
                        check_close(got[0], full[:, T:], what=f"logits with a cache of {T} positions vs a full run ({what})",
                                    hint="With a cache of T positions the new tokens are at positions T, T+1, ... (also for the encoding).")
                if not pos and not causal:
                    perm = torch.randperm(L, generator=g)
                    check_close(mine(tokens[:, perm])[0], mine(tokens)[0][:, perm],
                                what=f"logits after permuting the tokens, no positions ({name})")
        # gradients reach every parameter and match the reference's
        mine, theirs, name = _model_pair(learner, ref, (9, 16, 4, 2, True, True), torch.float64, seed + 101)
        tokens = torch.randint(0, 9, (2, 7), generator=generator(seed + 102))
        logits, _ = theirs(tokens)
        up = torch.randn(logits.shape, generator=generator(seed + 103), dtype=torch.float64)
        logits.backward(up)
        _, _, grads = mine.grad(tokens, upstream=(up,))
        for pname, t in theirs.named_parameters():
            got = grads.get(pname)
            assert got is not None, f"no gradient reaches {pname}: is it used in forward?"
            check_close(got, t.grad, what=f"gradient of {pname} ({name})")


# --------------------------------------------------------------------------- part 4

TRAIN_STEPS = 150
# The learner's loop trains fixtures.ReversalMLP (an MLP over the one-hot sequence, built in the
# notebook's process, ~0.2 s per run). Calibration (10 seeds: 20261, 1-7, 11, 12): the reference
# and the accepted variants reach 98-99% on every seed; the training mutants at most 41% (one
# fixed batch 34-41%, no zero_grad 32-36%, loss on the last position only 15%, the others <= 5%).
MIN_ACCURACY = 0.7
BATCH_SIZE = 64                  # the default of train_reverser's signature


def test_train_reverser(learner, ref, seed):
    V, L = ref.REV_VOCAB, ref.REV_LEN
    run_seed = seed % 100_000
    model = learner.fixture("ReversalMLP")(V, L, seed=run_seed)
    losses = learner.train_reverser(model, TRAIN_STEPS, seed=run_seed)
    trained = model.state_dict()
    assert isinstance(losses, (list, tuple)) and len(losses) == TRAIN_STEPS, \
        f"train_reverser must return the list of its {TRAIN_STEPS} losses"
    try:
        first_loss = float(losses[0])
    except (TypeError, ValueError):
        raise AssertionError("train_reverser must return the losses as floats") from None
    # the first loss: the untrained model (the judge's own copy) on the first batch of generator(seed)
    judge_model = ref.fixtures.ReversalMLP(V, L, seed=run_seed)
    x = ref.reversal_batch(BATCH_SIZE, generator=generator(run_seed))
    with torch.no_grad():
        logits, _ = judge_model(x)
        first = F.cross_entropy(logits.reshape(-1, V), x.flip(dims=[1]).reshape(-1)).item()
    assert abs(first_loss - first) < 1e-4 * max(1.0, abs(first)), (
        "the first loss is not the mean cross-entropy of the untrained model on the first batch "
        "(reversal_batch from generator(seed), the target the input read backwards)")
    # the trained weights, in the judge's copy, on held-out sequences drawn from the term seed
    initial = judge_model.state_dict()
    assert set(trained) == set(initial), "the model's parameters changed names"
    changed = sum(float((trained[k].double() - initial[k].double()).abs().sum()) for k in initial)
    assert changed > 0, "the model's weights did not change"
    judge_model.load_state_dict({k: v.float() for k, v in trained.items()})
    x = ref.reversal_batch(2000, generator=generator(seed + 4242))
    with torch.no_grad():
        acc = (judge_model(x)[0].argmax(dim=-1) == x.flip(dims=[1])).double().mean().item()
    assert acc >= MIN_ACCURACY, (
        f"after {TRAIN_STEPS} steps of your training loop the test's model reverses held-out sequences "
        f"with a token accuracy of {acc:.1%} (chance: {1 / V:.0%}); check the target (the input "
        f"read backwards, position i against position L - 1 - i), the loss and the optimizer steps")


# --------------------------------------------------------------------------- part 5

def _recording(ref, log):
    class TinyTransformer(ref.TinyTransformer):
        """The reference model, noting what each call of the learner's decoding feeds it."""

        def forward(self, tokens, key_padding_mask=None, cache=None):
            log.append((tokens.detach().clone(), None if cache is None else int(cache[0][0].shape[2])))
            return super().forward(tokens, key_padding_mask=key_padding_mask, cache=cache)

    return TinyTransformer


def _greedy(model, prompt, n):
    seq = prompt
    with torch.no_grad():
        for _ in range(n):
            seq = torch.cat([seq, model(seq)[0][:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return seq[:, prompt.shape[1]:]


def test_generate(learner, ref, seed):
    for ci, (V, d, h, depth, B, P, n_new) in enumerate([
        (17, 16, 4, 2, 3, 5, 12), (9, 8, 2, 1, 1, 1, 6), (12, 24, 3, 3, 2, 9, 20), (5, 16, 2, 2, 4, 3, 1),
    ]):
        torch.manual_seed(seed + ci)
        judge_model = _randomised(ref.TinyTransformer(V, d, h, depth, causal=True), seed + 17 * ci, scale=0.6).double()
        prompt = torch.randint(0, V, (B, P), generator=generator(seed + 3 * ci))
        expected = _greedy(judge_model, prompt, n_new)
        cfg = f"prompt {tuple(prompt.shape)}, {n_new} new tokens"
        for use_cache in (True, False):
            log = []
            with learner.patched(TinyTransformer=_recording(ref, log)):
                model = learner.fixture("build")(wire.Ref("module", "TinyTransformer"), V, d, h, depth, causal=True)
                model.to(torch.float64)
                model.load_state_dict(judge_model.state_dict())
                log.clear()
                out = learner.generate(model, prompt, n_new, use_cache=use_cache)
            check_tensor(out, shape=(B, n_new), dtype=torch.int64, what=f"generated tokens ({cfg}, use_cache={use_cache})")
            assert torch.equal(out, expected), (
                f"the tokens differ from greedy decoding ({cfg}, use_cache={use_cache}): take the argmax of the "
                f"logits at the last position and feed that token back" + (", with the cache the model returned" if use_cache else ""))
            fed = [t.shape[1] for t, _ in log]
            caches = [c for _, c in log]
            if use_cache:
                assert log and caches[0] is None, f"with the cache, the first call runs the prompt without a cache ({cfg})"
                seen = fed[0]
                for k in range(1, len(log)):
                    assert fed[k] == 1, (f"with the cache, call {k + 1} of the model fed {fed[k]} positions: after the "
                                         f"prompt each call must feed only the one new token ({cfg})")
                    assert caches[k] == seen, (f"with the cache, call {k + 1} passed a cache of {caches[k]} positions, "
                                               f"but {seen} positions had been fed: pass the cache the previous call "
                                               f"returned, grown by one position ({cfg})")
                    seen += 1
                assert seen <= P + n_new, f"with the cache, {seen} positions were fed for {P + n_new} tokens ({cfg})"
                assert len(log) >= n_new or fed[0] < P, f"one call per new token is needed ({cfg})"
            else:
                assert all(c is None for c in caches), f"use_cache=False must not pass a cache ({cfg})"
                assert fed == [P + k for k in range(n_new)], \
                    f"use_cache=False: each step runs the whole sequence so far (fed {fed[:6]}...; {cfg})"
