"""Hidden tests of the online-detection exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain data;
``ref`` is the solution notebook's code, in the judge's process. Metrics are compared with
scikit-learn where it computes the same number (AP; cAP as AP with sample weight w on the
positives) and with the reference elsewhere (no positive frame, no negative frame).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import average_precision_score

from autograder.judge import structure
from autograder.judge.channel import LearnerError
from dlcourse.testing import check_close, check_tensor, generator

METRIC_LIBRARY = ("average_precision_score", "precision_recall_curve", "sklearn", "auc", "roc_auc_score")


def _no_library(learner, item):
    msg = (f"{item} must compute the metric with tensor operations, not call scikit-learn "
           "(the visible checks use it to compare)")
    structure.forbid(structure.reachable(learner.source(item), item), {k: msg for k in METRIC_LIBRARY})


def _as_float(value, what):
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        raise AssertionError(f"{what}: expected a Python float, got {type(value).__name__}")
    return float(value)


def _same(got, expected, what, hint=""):
    if math.isnan(expected):
        assert math.isnan(got), f"{what}: expected nan (no positive frame), got {got:.6g}. {hint}".strip()
        return
    assert not math.isnan(got), f"{what}: got nan where a value is defined. {hint}".strip()
    assert abs(got - expected) <= 1e-9 + 1e-9 * abs(expected), \
        f"{what}: differs from the reference by {abs(got - expected):.3g}. {hint}".strip()


def _metric_cases(seed):
    """(scores, targets, description): continuous, tied, constant, tiny and edge cases."""
    g = generator(seed)
    cases = []
    for n, rate in ((7, 0.4), (60, 0.2), (500, 0.05), (2000, 0.3)):
        s = torch.randn(n, generator=g, dtype=torch.float64)
        y = torch.rand(n, generator=g) < rate
        y[int(torch.randint(0, n, (1,), generator=g))] = True
        cases.append((s, y, f"{n} distinct scores"))
    for n, levels in ((40, 3), (300, 6), (1000, 2)):
        s = torch.randint(0, levels, (n,), generator=g).double() / levels
        y = torch.rand(n, generator=g) < 0.35
        y[0] = True
        cases.append((s, y.long(), f"{n} scores on {levels} levels (ties), 0/1 long targets"))
    # ties where storage order decides a wrongly tie-broken AP: the positives stored first or last
    s = torch.tensor([0.9, 0.5, 0.5, 0.5, 0.5, 0.1], dtype=torch.float64)
    cases.append((s, torch.tensor([0, 1, 1, 0, 0, 1]).bool(), "a tie group with its positives stored first"))
    cases.append((s, torch.tensor([0, 0, 0, 1, 1, 1]).bool(), "a tie group with its positives stored last"))
    cases.append((torch.full((9,), 0.3, dtype=torch.float64), torch.tensor([0, 1, 0, 0, 1, 0, 0, 0, 1]).bool(),
                  "all scores equal"))
    cases.append((torch.tensor([0.2], dtype=torch.float64), torch.tensor([True]), "a single positive frame"))
    cases.append((torch.rand(12, generator=g, dtype=torch.float64), torch.ones(12, dtype=torch.bool), "only positive frames"))
    cases.append((torch.rand(12, generator=g, dtype=torch.float64), torch.zeros(12, dtype=torch.bool), "no positive frame"))
    s = torch.randn(256, generator=g)
    cases.append((s, torch.rand(256, generator=g) < 0.1, "float32 scores"))
    s = torch.linspace(0, 1, 64, dtype=torch.float64).flip(0)
    y = torch.zeros(64, dtype=torch.bool)
    y[[0, 1, 5, 20, 63]] = True
    cases.append((s, y, "sorted scores, positives spread out"))
    return cases


def _sklearn_ap(s, y, weight=None):
    y = y.bool().numpy()
    if weight is not None:
        weight = np.where(y, weight, 1.0)
    return float(average_precision_score(y, s.double().numpy(), sample_weight=weight))


# --------------------------------------------------------------------------- average_precision

def test_average_precision(learner, ref, seed):
    _no_library(learner, "average_precision")
    n = 0
    for s, y, what in _metric_cases(seed):
        got = _as_float(learner.average_precision(s, y), f"average_precision ({what})")
        expected = ref.average_precision(s, y)
        _same(got, expected, f"AP ({what})",
              hint="Tied scores form one threshold; no interpolation; nan without positives.")
        if y.bool().any():
            _same(got, _sklearn_ap(s, y), f"AP vs sklearn.metrics.average_precision_score ({what})")
        n += 1
    # invariant to a monotone rescaling of the scores and to the order of the frames
    s, y = torch.randn(300, generator=generator(seed + 1), dtype=torch.float64), torch.rand(300, generator=generator(seed + 2)) < 0.2
    perm = torch.randperm(300, generator=generator(seed + 3))
    base = _as_float(learner.average_precision(s, y), "average_precision")
    _same(_as_float(learner.average_precision(3 * s + 1, y), "average_precision"), base, "AP after rescaling the scores")
    _same(_as_float(learner.average_precision(s[perm], y[perm]), "average_precision"), base, "AP after shuffling the frames")
    assert n >= 14


# --------------------------------------------------------------------------- calibrated AP

def test_calibrated_average_precision(learner, ref, seed):
    _no_library(learner, "calibrated_average_precision")
    n = 0
    for s, y, what in _metric_cases(seed + 100):
        got = _as_float(learner.calibrated_average_precision(s, y), f"calibrated_average_precision ({what})")
        expected = ref.calibrated_average_precision(s, y)
        _same(got, expected, f"cAP ({what})",
              hint="w = negatives / positives multiplies TP; ties as in AP; nan without positives, 1.0 without negatives.")
        pos = int(y.bool().sum())
        if 0 < pos < y.numel():
            w = (y.numel() - pos) / pos
            _same(got, _sklearn_ap(s, y, weight=w), f"cAP vs sklearn AP with sample weight w on the positives ({what})")
        n += 1
    # balanced classes: cAP equals AP
    g = generator(seed + 5)
    s = torch.randn(200, generator=g, dtype=torch.float64)
    y = torch.zeros(200, dtype=torch.bool)
    y[torch.randperm(200, generator=g)[:100]] = True
    _same(_as_float(learner.calibrated_average_precision(s, y), "cAP"), _sklearn_ap(s, y), "cAP with w = 1 vs AP")
    # the same detector with ten times the background: cAP stays close, AP drops
    pos_s, neg_s = torch.randn(100, generator=g, dtype=torch.float64) + 1.5, torch.randn(1000, generator=g, dtype=torch.float64)
    few = _as_float(learner.calibrated_average_precision(torch.cat([pos_s, neg_s[:100]]),
                                                         torch.cat([torch.ones(100), torch.zeros(100)]).bool()), "cAP")
    many = _as_float(learner.calibrated_average_precision(torch.cat([pos_s, neg_s]),
                                                          torch.cat([torch.ones(100), torch.zeros(1000)]).bool()), "cAP")
    assert abs(few - many) < 0.08, "cAP should barely change when the background grows tenfold (is w = negatives / positives?)"
    assert n >= 14


# --------------------------------------------------------------------------- mean_ap

def _class_scores(seed, n, c, absent=()):
    g = generator(seed)
    labels = torch.randint(0, c, (n,), generator=g)
    labels[torch.rand(n, generator=g) < 0.5] = 0                     # lots of background
    for a in absent:
        labels[labels == a] = 0
    scores = torch.randn(n, c, generator=g, dtype=torch.float64) + 1.2 * F.one_hot(labels, c)
    scores = torch.round(scores * 4) / 4                               # ties
    return scores, labels


def test_mean_ap(learner, ref, seed):
    with learner.patched(average_precision=ref.average_precision,
                         calibrated_average_precision=ref.calibrated_average_precision):
        n = 0
        for ci, (N, C, absent) in enumerate([(50, 2, ()), (400, 4, ()), (300, 6, (3,)), (120, 3, (1, 2)),
                                             (1000, 21, (5, 17)), (80, 5, (0,))]):
            scores, labels = _class_scores(seed + ci, N, C, absent)
            for calibrated in (False, True):
                what = f"{N} frames, {C} classes, absent {list(absent) or 'none'}, calibrated={calibrated}"
                res = learner.mean_ap(scores, labels, calibrated=calibrated)
                assert isinstance(res, (tuple, list)) and len(res) == 2, f"mean_ap ({what}) should return (per_class, mean)"
                per_class, mean = res
                exp_pc, exp_mean = ref.mean_ap(scores, labels, calibrated=calibrated)
                check_close(per_class, exp_pc, what=f"per-class {'cAP' if calibrated else 'AP'} ({what})", rtol=1e-9, atol=1e-12,
                            hint="Entry c scores column c against labels == c, background included.")
                _same(_as_float(mean, f"mean ({what})"), exp_mean, f"mean over the action classes ({what})",
                      hint="Mean over classes 1..C-1 with positive frames, background and nan classes left out.")
                if not calibrated and len(absent) == 0:
                    sk = np.mean([average_precision_score((labels == c).numpy(), scores[:, c].numpy()) for c in range(1, C)])
                    _same(_as_float(mean, "mean"), float(sk), f"mAP vs the mean of sklearn's AP over the action classes ({what})")
                n += 1
        # no action class present at all: nan
        scores, labels = _class_scores(seed + 50, 30, 3, (1, 2))
        _, mean = learner.mean_ap(scores, labels)
        assert math.isnan(_as_float(mean, "mean")), "with no action frame at all the mean should be nan"
        assert n >= 12


# --------------------------------------------------------------------------- past_windows

def test_past_windows(learner, ref, seed):
    n = 0
    for ci, (B, T, D, W) in enumerate([(1, 1, 1, 1), (2, 5, 3, 4), (3, 20, 8, 16), (1, 7, 2, 10),
                                       (4, 33, 5, 1), (2, 16, 4, 16), (1, 40, 3, 7)]):
        for dtype in (torch.float32, torch.float64):
            x = torch.randn(B, T, D, generator=generator(seed + ci), dtype=torch.float64).to(dtype)
            what = f"features {tuple(x.shape)}, window {W}, {dtype}"
            res = learner.past_windows(x, W)
            assert isinstance(res, (tuple, list)) and len(res) == 2, f"past_windows ({what}) should return (windows, valid)"
            w, v = res
            ew, ev = ref.past_windows(x, W)
            check_close(w, ew, what=f"windows ({what})", rtol=0, atol=0,
                        hint="windows[b, t, j] = features[b, t - window + 1 + j], zeros before the stream starts.")
            check_tensor(v, shape=tuple(ev.shape), dtype=torch.bool, what=f"valid ({what})")
            assert torch.equal(v, ev), f"valid ({what}): wrong mask (True where the window holds a real chunk)"
            n += 1
    # causality of the streaming model: a model in the judge reads your windows; the output at
    # chunk t must not move when chunks after t change
    torch.manual_seed(seed)
    model = ref.OadTR(5, 4, 6, dim=16, depth=1, num_heads=2).double().eval()
    g = generator(seed + 9)
    x = torch.randn(2, 30, 5, generator=g, dtype=torch.float64)
    w, v = learner.past_windows(x, 6)
    with torch.no_grad():
        base = model(w.flatten(0, 1), v.flatten(0, 1)).view(2, 30, 4)
    for t in (0, 3, 11, 28):
        y = x.clone()
        y[:, t + 1:] = torch.randn(2, 30 - t - 1, 5, generator=g, dtype=torch.float64)
        w2, v2 = learner.past_windows(y, 6)
        with torch.no_grad():
            out = model(w2.flatten(0, 1), v2.flatten(0, 1)).view(2, 30, 4)
        assert torch.equal(out[:, :t + 1], base[:, :t + 1]), \
            f"changing the chunks after t = {t} changed the model's output at or before t: the future leaks into the windows"
    assert n >= 14


# --------------------------------------------------------------------------- OadTR

def _random_state(model, seed):
    g = generator(seed)
    state = {}
    for name, t in model.state_dict().items():
        r = torch.randn(t.shape, generator=g, dtype=torch.float64)
        state[name] = (1 + 0.3 * r) if ("norm" in name and name.endswith("weight")) else 0.3 * r
    return state


def _load(mine, state, what):
    try:
        mine.load_state_dict(state)
    except LearnerError as e:
        raise AssertionError(f"{what}: cannot copy the reference weights into your module (check the attribute "
                             f"names, layer types and shapes in the docstring): {e.message[:300]}") from None


def test_OadTR(learner, ref, seed):
    n = 0
    for ci, (D, C, W, dim, depth, heads, ratio) in enumerate([
        (8, 4, 16, 32, 2, 4, 2.0), (3, 2, 1, 8, 1, 1, 2.0), (5, 6, 7, 16, 3, 2, 1.0), (8, 4, 10, 24, 1, 3, 4.0),
    ]):
        for readout in ("task", "last"):
            for dtype in (torch.float32, torch.float64):
                cfg = f"OadTR(in_dim={D}, num_classes={C}, window={W}, dim={dim}, depth={depth}, num_heads={heads}, mlp_ratio={ratio}, readout='{readout}')"
                torch.manual_seed(seed + ci)
                theirs = ref.OadTR(D, C, W, dim=dim, depth=depth, num_heads=heads, mlp_ratio=ratio, readout=readout)
                theirs.to(dtype)       # before loading: float64 weights must not pass through float32
                state = {k: v.to(dtype) for k, v in _random_state(theirs, seed + 7 * ci).items()}
                theirs.load_state_dict(state)   # train mode on both sides: no dropout, no fast path
                mine = learner.OadTR(D, C, W, dim=dim, depth=depth, num_heads=heads, mlp_ratio=ratio, readout=readout)
                mine.to(dtype)
                _load(mine, state, cfg)
                g = generator(seed + 31 * ci)
                B = 5
                x = torch.randn(B, W, D, generator=g, dtype=torch.float64).to(dtype)
                pad = torch.randint(0, W, (B,), generator=g)                       # chunks missing at the start
                valid = torch.arange(W)[None, :] >= pad[:, None]
                for mask in (valid, None):
                    out = mine(x, mask)
                    expected = theirs(x, mask).detach()
                    check_tensor(out, shape=(B, C), dtype=dtype, what=f"logits ({cfg}, {dtype})")
                    check_close(out, expected, what=f"logits ({cfg}, {dtype}, {'with padding' if mask is not None else 'no mask'})",
                                hint="Task token appended after the current chunk, pos_embed added to all tokens, "
                                     "padding masked as keys, final norm, head at the last position.")
                n += 1
    # gradients reach the task token and the position embeddings (and match the reference's)
    torch.manual_seed(seed)
    theirs = ref.OadTR(4, 3, 5, dim=8, depth=1, num_heads=2).double()
    state = _random_state(theirs, seed + 99)
    theirs.load_state_dict(state)
    mine = learner.OadTR(4, 3, 5, dim=8, depth=1, num_heads=2)
    mine.to(torch.float64)
    _load(mine, state, "OadTR(4, 3, 5, dim=8, depth=1, num_heads=2)")
    x = torch.randn(3, 5, 4, generator=generator(seed + 98), dtype=torch.float64)
    valid = torch.tensor([[True] * 5, [False, False, True, True, True], [False] * 4 + [True]])
    out = theirs(x, valid)
    out.square().sum().backward()
    _, _, grads = mine.grad(x, valid, upstream=2 * out.detach())
    for name in ("task_token", "pos_embed", "embed.weight", "head.weight"):
        got = grads.get(name)
        assert got is not None and got.abs().sum() > 0, f"no gradient reaches {name}: is it used in forward?"
    for name, t in theirs.named_parameters():
        got = grads.get(name)
        assert got is not None, f"no gradient reaches {name}: is it used in forward?"
        check_close(got, t.grad, what=f"gradient of {name}")
    assert n >= 16


# --------------------------------------------------------------------------- train_detector

# Few steps: each one calls the reference past_windows across the channel. Calibration (12 seeds:
# 20261, 1-9, 11, 12): the reference and the accepted variants reach mAP 0.52-0.61 and accuracy
# 0.83-0.86; without zero_grad mAP 0.15-0.27 and accuracy 0.62-0.72. The other training
# mutants fail the first-loss check or leave the weights unchanged.
TRAIN_STEPS, TRAIN_BATCH, TRAIN_LENGTH, TRAIN_LR = 30, 16, 64, 0.05
MIN_MAP, MIN_ACCURACY = 0.4, 0.78


def test_train_detector(learner, ref, seed):
    K1, D, W = ref.NUM_CLASSES, ref.D_IN, ref.WINDOW
    run_seed = seed % 10_000
    with learner.patched(past_windows=ref.past_windows):
        torch.manual_seed(seed)
        model = learner.fixture("WindowMLP")(D, K1, W)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        losses = learner.train_detector(model, TRAIN_STEPS, window=W, batch_size=TRAIN_BATCH,
                                        length=TRAIN_LENGTH, lr=TRAIN_LR, seed=run_seed)
        trained = model.state_dict()
    assert isinstance(losses, (list, tuple)) and len(losses) == TRAIN_STEPS, \
        f"train_detector should return one loss per step ({TRAIN_STEPS})"
    losses = [_as_float(v, "a loss value") for v in losses]
    # the first loss: the initial model on the first batch of generator(seed), every chunk's own label
    judge_model = ref.fixtures.WindowMLP(D, K1, W)
    judge_model.load_state_dict(initial)
    x, y = ref.make_streams(TRAIN_BATCH, TRAIN_LENGTH, generator(run_seed))
    w, v = ref.past_windows(x, W)
    with torch.no_grad():
        first = F.cross_entropy(judge_model(w.flatten(0, 1), v.flatten(0, 1)), y.flatten()).item()
    assert abs(losses[0] - first) < 1e-4 * max(1.0, abs(first)), \
        ("the first loss is not the mean cross-entropy of the untrained model on the first batch "
         "(streams from generator(seed), every window labelled with its current chunk)")
    # the trained weights, in the judge's own copy of the model, on held-out streams
    judge_model.load_state_dict(trained)
    changed = sum(float((trained[k] - initial[k]).abs().sum()) for k in initial)
    assert changed > 0, "the model's weights did not change"
    judge_model.eval()
    x, y = ref.make_streams(48, 160, generator(seed + 424242))
    w, v = ref.past_windows(x, W)
    with torch.no_grad():
        logits = judge_model(w.flatten(0, 1), v.flatten(0, 1))
    _, m = ref.mean_ap(logits, y.flatten())
    acc = (logits.argmax(-1) == y.flatten()).double().mean().item()
    assert m >= MIN_MAP and acc >= MIN_ACCURACY, \
        (f"the trained model reaches mAP {m:.3f} and accuracy {acc:.3f} on held-out streams after {TRAIN_STEPS} "
         f"steps; a correct loop reaches at least {MIN_MAP} and {MIN_ACCURACY}")
