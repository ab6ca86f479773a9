"""Hidden tests of the CLIP exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary; ``ref`` is the solution
notebook's code in the judge. The losses are compared with the reference and with PyTorch's
own cross-entropy / binary cross-entropy, in float32, float64 and float16, at logits up to
100 (CLIP's cap; a logit scale of 1000 must be clipped to 100) and, for SigLIP, about 8192,
and through the backward pass (both embeddings, the temperature, the bias). Large logits are
built from vectors whose cosines are multiples of 1/4 and power-of-two scales, so every dtype
sees the same logits. ``DualEncoder`` runs with the reference losses; ``zero_shot_classify``
with a fixed toy model of ``fixtures.py``; ``train_clip`` trains the reference model (a
stand-in whose passes the judge computes) from a warm start, and the judge measures its
CLIP loss on a held-out batch of digits placed and captioned with the term seed.
"""
import hashlib
import math
import os
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from autograder.judge.channel import LearnerError
from dlcourse import wire
from dlcourse.testing import check_close, check_tensor, generator

F64 = torch.float64
ONE = torch.tensor(1.0, dtype=F64)
HALF_TOL = dict(rtol=1e-2, atol=2e-2)
LSE_HINT = ("exp of a large logit overflows (exp then log gives inf or NaN): use a log-sum-exp "
            "(F.cross_entropy, log_softmax, torch.logsumexp) or F.logsigmoid.")


def _pairs(seed, n, d, dtype):
    """Correlated image / text embeddings with rows of very different norms."""
    g = generator(seed)
    img = torch.randn(n, d, generator=g, dtype=F64)
    txt = img + 0.9 * torch.randn(n, d, generator=g, dtype=F64)
    img = img * torch.exp(torch.randn(n, 1, generator=g, dtype=F64))
    txt = txt * torch.exp(torch.randn(n, 1, generator=g, dtype=F64))
    return img.to(dtype), txt.to(dtype)


def _exact_pairs(seed, n, d, dtype):
    """Rows with four entries +-1 (norm 2, cosines multiples of 1/4), scaled by powers of two;
    a third of the pairs identical up to scale, a third opposite (cosine -1)."""
    g = generator(seed)

    def rows():
        z = torch.zeros(n, d, dtype=F64)
        for i in range(n):
            z[i, torch.randperm(d, generator=g)[:4]] = torch.randint(0, 2, (4,), generator=g).to(F64) * 2 - 1
        return z * 2.0 ** torch.randint(-2, 3, (n, 1), generator=g)

    img, txt = rows(), rows()
    k = n // 3
    txt[:k] = 2 * img[:k]
    txt[k:2 * k] = -img[k:2 * k]
    return img.to(dtype), txt.to(dtype)


def _scalar(v, dtype):
    return torch.tensor(v, dtype=F64).to(dtype)


def _ref_grads(fn, tensors):
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    out = fn(*leaves)
    out.backward()
    return out.detach(), [t.grad for t in leaves]


def _check_grads(got, want, names, what, **tol):
    assert len(got) == len(want), f"gradients ({what}): expected one per input tensor"
    for name, g, w in zip(names, got, want):
        assert g is not None, f"no gradient reaches {name} ({what}): is the loss computed from it (no detach, no .item())?"
        assert bool(torch.isfinite(g).all()), f"gradient with respect to {name} ({what}) contains NaN or inf"
        check_close(g, w, what=f"gradient with respect to {name} ({what})", **tol)


def _check_value(out, want, what, hint="", **tol):
    check_tensor(out, shape=(), dtype=want.dtype, what=f"{what}: the loss (a 0-dim tensor in the input dtype)")
    check_close(out, want, what=what, hint=hint, **tol)


# --------------------------------------------------------------------------- clip_loss

def _clip_library(img, txt, t):
    scale = min(math.exp(float(t)), 100.0)
    s = scale * (F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).mT)
    labels = torch.arange(len(s))
    return 0.5 * F.cross_entropy(s, labels) + 0.5 * F.cross_entropy(s.mT, labels)


CLIP_HINT = ("CLIP averages two cross-entropies: each image against all captions (rows) and each caption "
             "against all images (columns); logits = min(exp(logit_scale), 100) * cosine similarity.")


def test_clip_loss(learner, ref, seed):
    f, rf = learner.clip_loss, ref.clip_loss
    cases = 0
    for ci, (n, d, t, dtype) in enumerate([
        (8, 16, math.log(1 / 0.07), torch.float32), (5, 3, 0.0, F64), (1, 4, 1.0, F64), (32, 24, 2.5, torch.float32),
        (6, 8, math.log(50), F64), (4, 2, -1.0, F64), (17, 5, math.log(1000), F64), (3, 7, math.log(300), torch.float32),
    ]):
        img, txt = _pairs(seed + ci, n, d, dtype)
        ls = _scalar(t, dtype)
        what = f"N={n} d={d} logit_scale={t:.3g} {dtype}"
        out = f(img, txt, ls)
        _check_value(out, rf(img, txt, ls), what, hint=CLIP_HINT)
        check_close(out, _clip_library(img, txt, ls), what=f"{what}, vs F.cross_entropy in both directions", hint=CLIP_HINT)
        cases += 1
    # large logits: scale 100 (the cap), logits exactly +-100, +-75, ...
    for ci, (n, d, t, dtype, tol) in enumerate([
        (9, 12, math.log(100), torch.float32, dict(rtol=1e-5, atol=1e-3)), (10, 8, math.log(1000), F64, {}),
        (9, 12, math.log(1000), torch.float32, dict(rtol=1e-5, atol=1e-3)),
        (9, 12, math.log(100), torch.float16, HALF_TOL), (8, 12, math.log(1000), torch.float16, HALF_TOL),
    ]):
        img, txt = _exact_pairs(seed + 20 + ci, n, d, dtype)
        ls = _scalar(t, dtype)
        what = f"logit_scale=log({math.exp(t):.0f}) (logits up to 100), N={n} {dtype}"
        want = rf(img.double(), txt.double(), ls.double()).to(dtype)
        _check_value(f(img, txt, ls), want, what, hint=LSE_HINT, **tol)
        cases += 1
    # the backward pass: both embeddings and the logit scale (zero above the cap)
    for ci, (n, d, t, dtype) in enumerate([(8, 6, math.log(1 / 0.07), torch.float32), (6, 5, 1.5, F64),
                                           (12, 3, math.log(30), F64), (7, 4, math.log(500), F64)]):
        img, txt = _pairs(seed + 30 + ci, n, d, dtype)
        ls = _scalar(t, dtype)
        what = f"N={n} d={d} logit_scale={t:.3g} {dtype}"
        _, grads, _ = f.grad(img, txt, ls, upstream=ONE.to(dtype))
        _, want = _ref_grads(rf, (img, txt, ls))
        _check_grads(grads, want, ("img_emb", "txt_emb", "logit_scale"), what)
    img, txt = _exact_pairs(seed + 40, 9, 12, F64)
    _, grads, _ = f.grad(img, txt, _scalar(math.log(99), F64), upstream=ONE)
    _check_grads(grads, _ref_grads(rf, (img, txt, _scalar(math.log(99), F64)))[1],
                 ("img_emb", "txt_emb", "logit_scale"), "logits up to 99, float64")
    assert cases >= 13


# --------------------------------------------------------------------------- siglip_loss

def _siglip_library(img, txt, tp, b):
    s = math.exp(float(tp)) * (F.normalize(img, dim=-1) @ F.normalize(txt, dim=-1).mT) + float(b)
    return F.binary_cross_entropy_with_logits(s, torch.eye(len(s), dtype=s.dtype), reduction="sum") / len(s)


SIGLIP_HINT = ("logits = exp(t_prime) * cosine similarity + bias; label +1 on the diagonal and -1 elsewhere; "
               "the sum over all N^2 pairs of -log sigmoid(label * logit), divided by N.")


def test_siglip_loss(learner, ref, seed):
    f, rf = learner.siglip_loss, ref.siglip_loss
    cases = 0
    for ci, (n, d, tp, b, dtype) in enumerate([
        (8, 16, math.log(10), -10.0, torch.float32), (5, 3, 0.0, 0.0, F64), (1, 4, 1.0, -2.0, F64),
        (32, 24, 2.5, -5.0, torch.float32), (6, 8, math.log(50), 3.0, F64), (4, 2, -1.0, 1.5, F64),
        (17, 5, math.log(10), -10.0, F64), (3, 7, 2.0, -0.5, torch.float32),
    ]):
        img, txt = _pairs(seed + ci, n, d, dtype)
        t_, b_ = _scalar(tp, dtype), _scalar(b, dtype)
        what = f"N={n} d={d} t_prime={tp:.3g} bias={b} {dtype}"
        out = f(img, txt, t_, b_)
        _check_value(out, rf(img, txt, t_, b_), what, hint=SIGLIP_HINT)
        check_close(out, _siglip_library(img, txt, t_, b_), what=f"{what}, vs binary_cross_entropy_with_logits",
                    hint=SIGLIP_HINT)
        cases += 1
    # large logits: t = 8192 (float32/float64), 32 (float16)
    for ci, (n, d, t, b, dtype, tol) in enumerate([
        (9, 12, 2.0**13, -10.0, torch.float32, dict(rtol=1e-5, atol=1e-2)), (10, 8, 2.0**13, 4.0, F64, {}),
        (9, 12, 32.0, -8.0, torch.float16, HALF_TOL),
    ]):
        img, txt = _exact_pairs(seed + 20 + ci, n, d, dtype)
        t_, b_ = _scalar(math.log(t), dtype), _scalar(b, dtype)
        what = f"t = exp(t_prime) = {t:g} (logits up to about {t:g}), N={n} {dtype}"
        want = rf(img.double(), txt.double(), t_.double(), b_.double()).to(dtype)
        _check_value(f(img, txt, t_, b_), want, what, hint=LSE_HINT, **tol)
        cases += 1
    # the backward pass: both embeddings, t_prime and bias
    for ci, (n, d, tp, b, dtype) in enumerate([(8, 6, math.log(10), -10.0, torch.float32), (6, 5, 1.5, -1.0, F64),
                                               (12, 3, math.log(30), 2.0, F64), (1, 4, 0.5, -3.0, F64)]):
        img, txt = _pairs(seed + 30 + ci, n, d, dtype)
        t_, b_ = _scalar(tp, dtype), _scalar(b, dtype)
        what = f"N={n} d={d} t_prime={tp:.3g} bias={b} {dtype}"
        _, grads, _ = f.grad(img, txt, t_, b_, upstream=ONE.to(dtype))
        _, want = _ref_grads(rf, (img, txt, t_, b_))
        _check_grads(grads, want, ("img_emb", "txt_emb", "t_prime", "bias"), what)
    img, txt = _exact_pairs(seed + 40, 9, 12, F64)
    t_, b_ = _scalar(math.log(2.0**13), F64), _scalar(-10.0, F64)
    _, grads, _ = f.grad(img, txt, t_, b_, upstream=ONE)
    _check_grads(grads, _ref_grads(rf, (img, txt, t_, b_))[1], ("img_emb", "txt_emb", "t_prime", "bias"),
                 "t = 8192, float64")
    assert cases >= 11


# --------------------------------------------------------------------------- DualEncoder

_SCALARS = {"clip": {"logit_scale": math.log(1 / 0.07)}, "siglip": {"t_prime": math.log(10.0), "bias": -10.0}}


def _load(mine, state, what):
    try:
        mine.load_state_dict(state)
    except LearnerError as e:
        raise AssertionError(f"{what}: cannot copy the reference weights into your module (check the attribute "
                             f"names in the docstring): {e.message[:300]}") from None


def _batch(ref, seed, n):
    images, tokens, _, _ = ref.caption_batch(ref.x_train, ref.y_train, n, generator(seed))
    return images, tokens


def test_DualEncoder(learner, ref, seed):
    V = len(ref.VOCAB)
    with learner.patched(clip_loss=ref.clip_loss, siglip_loss=ref.siglip_loss):
        for ci, (objective, dim) in enumerate([("clip", 16), ("siglip", 16), ("clip", 8), ("siglip", 12)]):
            what = f"DualEncoder({V}, {dim}, '{objective}')"
            torch.manual_seed(seed + ci)
            theirs = ref.DualEncoder(V, dim, objective)
            mine = learner.DualEncoder(V, dim, objective)
            own = mine.params()
            names = set(theirs.state_dict())
            assert set(own["params"]) | set(own["buffers"]) >= names - set(_SCALARS[objective]), \
                f"{what}: the encoders should be self.image_encoder = ImageEncoder(dim) and self.text_encoder = TextEncoder(vocab_size, dim)"
            for name, value in _SCALARS[objective].items():
                assert name in own["params"], (
                    f"{what}: `{name}` should be an nn.Parameter of the module (a plain tensor or a buffer is not "
                    f"trained)" + (" -- it is a buffer" if name in own["buffers"] else ""))
                p = own["params"][name]
                assert p.shape == (), f"{what}: `{name}` should be 0-dimensional"
                assert abs(float(p) - value) < 1e-5, f"{what}: `{name}` does not have its initial value of the paper"
            assert set(own["params"]) == {n for n, _ in theirs.named_parameters()}, \
                f"{what}: the module's parameters are not those of the docstring"
            with torch.no_grad():     # move the scalars away from their initial values
                for name in _SCALARS[objective]:
                    getattr(theirs, name).add_(0.3 * (ci + 1))
            for dtype in (torch.float32, F64):
                theirs.to(dtype)
                mine.to(dtype)
                _load(mine, theirs.state_dict(), what)
                images, tokens = _batch(ref, seed + 10 * ci, 7)
                images = images.to(dtype)
                zi, zt = mine.encode_image(images), mine.encode_text(tokens)
                check_tensor(zi, shape=(7, dim), dtype=dtype, what=f"encode_image ({what}, {dtype})")
                check_tensor(zt, shape=(7, dim), dtype=dtype, what=f"encode_text ({what}, {dtype})")
                check_close(zi, theirs.encode_image(images).detach(), what=f"encode_image ({what}, {dtype})",
                            hint="The image encoder's features, normalised to unit length.")
                check_close(zt, theirs.encode_text(tokens).detach(), what=f"encode_text ({what}, {dtype})",
                            hint="The text encoder's features, normalised to unit length.")
                loss = theirs(images, tokens)
                _check_value(mine(images, tokens), loss.detach(), f"the loss of {what}, {dtype}",
                             hint="The loss of the objective on the normalised embeddings, with the module's own "
                                  "log-temperature (and bias) passed as they are.")
                if dtype == F64:
                    theirs.zero_grad()
                    loss.backward()
                    _, _, pgrads = mine.grad(images, tokens, upstream=ONE)
                    for name, p in theirs.named_parameters():
                        got = pgrads.get(name)
                        assert got is not None, f"{what}: no gradient reaches {name}"
                        check_close(got, p.grad, what=f"gradient of {name} ({what})")
            theirs.float()


# --------------------------------------------------------------------------- zero_shot_classify

def test_zero_shot_classify(learner, ref, seed):
    V = len(ref.VOCAB)
    g = generator(seed)
    images = ref.place_digits(ref.x_test[:40], g)[0]
    for ci, (templates, names) in enumerate([
        (ref.ZERO_SHOT_TEMPLATES, ref.DIGIT_NAMES),
        (["a photo of the number {}", "{} in the top left", "a small thin {}", "the digit {} , large"], ref.DIGIT_NAMES),
        (["{} written thick", "this is a {}", "a drawing of a {}"], ["seven", "one", "four"]),
        (["a large {} at the bottom right"], ["two", "three", "zero", "nine"]),
    ]):
        what = f"{len(templates)} templates, {len(names)} classes"
        model = learner.fixture("ToyDualEncoder")(V, 8, seed + ci)
        theirs = ref.fixtures.ToyDualEncoder(V, 8, seed + ci)
        pred, scores = learner.zero_shot_classify(model, images, templates, names)
        want_pred, want = ref.zero_shot_classify(theirs, images, templates, names)
        check_tensor(pred, shape=(40,), dtype=torch.long, what=f"pred ({what})")
        check_close(scores, want, what=f"scores ({what})",
                    hint="Per class: the mean of the unit-length prompt embeddings over the templates, renormalised; "
                         "then the cosine similarity with each unit-length image embedding.")
        assert torch.equal(pred, want_pred), f"pred ({what}): not the best class of each image"
        n = learner.fixture("calls")(model)
        assert n["encode_text"] >= 1 and n["text_rows"] == len(templates) * len(names), \
            f"{what}: encode every prompt (one per template and class) exactly once"
        assert n["encode_image"] == 1, f"{what}: encode the images once"
    # the default class names are DIGIT_NAMES; a batch of one image
    model = learner.fixture("ToyDualEncoder")(V, 8, seed + 9)
    pred, scores = learner.zero_shot_classify(model, images[:1], ["{}"])
    _, want = ref.zero_shot_classify(ref.fixtures.ToyDualEncoder(V, 8, seed + 9), images[:1], ["{}"])
    check_close(scores, want, what="scores (one image, one template, default class names)")


# --------------------------------------------------------------------------- train_clip

WARM_STEPS, WARM_BATCH = 300, 64
TRAIN_STEPS, TRAIN_BATCH, TRAIN_LR = 30, 32, 1e-3
# Pass when the learner's loop leaves the CLIP loss of a held-out batch no more than this far
# above the warm start's (calibration in bench.py: a correct loop lowers it, the mutants raise it).
MAX_RISE = 0.3
_warm_cache: dict = {}


def _warm_state(ref):
    """The reference CLIP model after WARM_STEPS steps of the reference loop from seed 0.
    Deterministic, so it is computed once per process and kept on disk."""
    key = f"clip-warm-{WARM_STEPS}-{WARM_BATCH}-{torch.__version__}-" + hashlib.sha256(
        repr(ref.VOCAB).encode()).hexdigest()[:12]
    if key not in _warm_cache:
        path = os.path.join(tempfile.gettempdir(), f"dlcourse-{key}.npz")
        try:
            with np.load(path, allow_pickle=False) as f:
                state = {k: torch.from_numpy(f[k]) for k in f.files}
        except (OSError, ValueError):
            torch.manual_seed(0)
            model = ref.DualEncoder(len(ref.VOCAB), 32, "clip")
            ref.train_clip(model, WARM_STEPS, batch_size=WARM_BATCH, seed=0)
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            tmp = f"{path}.{os.getpid()}.npz"
            np.savez(tmp, **{k: v.numpy() for k, v in state.items()})
            os.replace(tmp, path)
        _warm_cache[key] = state
    return _warm_cache[key]


def held_out_loss(ref, state, seed):
    """The CLIP loss of ``state`` (a reference model) on one batch of 256 held-out digits, placed
    and captioned with a generator of the term seed."""
    model = ref.DualEncoder(len(ref.VOCAB), 32, "clip")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    images, tokens, _, _ = ref.caption_batch(ref.x_test, ref.y_test, 256, generator(seed + 4242))
    with torch.no_grad():
        return model(images, tokens).item()


def test_train_clip(learner, ref, seed):
    start = _warm_state(ref)
    run_seed = seed % 100_000
    with learner.patched(DualEncoder=ref.DualEncoder):
        # one step first: the loss of the first batch, cheap to check before the whole run
        model = learner.fixture("build")(wire.Ref("module", "DualEncoder"), len(ref.VOCAB), 32, "clip")
        model.load_state_dict(start)
        first = learner.train_clip(model, 1, batch_size=TRAIN_BATCH, lr=TRAIN_LR, seed=run_seed)
        judge_model = ref.DualEncoder(len(ref.VOCAB), 32, "clip")
        judge_model.load_state_dict(start)
        images, tokens, _, _ = ref.caption_batch(ref.x_train, ref.y_train, TRAIN_BATCH, generator(run_seed))
        with torch.no_grad():
            want = judge_model(images, tokens).item()
        assert isinstance(first, (list, tuple)) and len(first) == 1 and isinstance(first[0], float), \
            "train_clip should return a list of one Python float per step"
        assert abs(first[0] - want) < 1e-4 * max(1.0, abs(want)), \
            ("the first loss is not the model's loss on the first batch (caption_batch(x_train, y_train, batch_size, g) "
             "with g = generator(seed), created once)")
        model = learner.fixture("build")(wire.Ref("module", "DualEncoder"), len(ref.VOCAB), 32, "clip")
        model.load_state_dict(start)
        losses = learner.train_clip(model, TRAIN_STEPS, batch_size=TRAIN_BATCH, lr=TRAIN_LR, seed=run_seed)
        state = model.params()["params"]
    assert isinstance(losses, (list, tuple)) and len(losses) == TRAIN_STEPS and \
        all(isinstance(v, float) for v in losses), f"train_clip must return the list of its {TRAIN_STEPS} losses as floats"
    assert set(state) == set(start), "the trained model lost some of its parameters"
    assert any(not torch.equal(state[k].float(), start[k].float()) for k in start), "the model's weights did not change"
    before, after = held_out_loss(ref, start, seed), held_out_loss(ref, state, seed)
    assert after <= before + MAX_RISE, (
        f"{TRAIN_STEPS} steps of your loop took a partly trained model's loss on a held-out batch from {before:.2f} "
        f"to {after:.2f}; a working loop lowers it or leaves it within {MAX_RISE} of where it started: check that "
        f"every step draws a fresh batch, and zeroes, computes and applies the gradients in that order with Adam "
        f"at the given lr")
