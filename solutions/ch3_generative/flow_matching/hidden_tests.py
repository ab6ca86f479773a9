"""Hidden tests of the flow-matching exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain data;
``ref`` is the solution notebook's code, in the judge's process. The samplers and the loss are
called with a velocity field that the judge computes (a call-back), so the judge sees every
call of the model: how many, at which states and times. The reflow pairs are checked against
the reference's Euler solution from each pair's own noise. The training loop runs on a small
model of the grader's (``fixtures.TinyVelocity``), step for step against the reference, then
for longer, measured on held-out pairs in the judge.
"""
import torch

from autograder.judge.channel import LearnerError
from dlcourse import wire
from dlcourse.testing import check_close, check_tensor, generator

F64, F32 = torch.float64, torch.float32
FIELD = wire.Ref("callback", "judge_velocity")


class Field:
    """A smooth non-linear velocity field v(x, t) in the judge, with a log of its calls."""

    def __init__(self, seed, dim):
        g = generator(seed)
        self.A = torch.randn(dim + 1, 12, generator=g, dtype=F64) * 0.8
        self.B = torch.randn(12, dim, generator=g, dtype=F64) * 0.6
        self.C = torch.randn(dim, dim, generator=g, dtype=F64) * 0.3
        self.calls = []

    def value(self, x, t):
        h = torch.tanh(torch.cat([x, t[:, None]], dim=1) @ self.A.to(x.dtype))
        return h @ self.B.to(x.dtype) + (x @ self.C.to(x.dtype)) * (1 + t[:, None])

    def __call__(self, x, t):
        tt = t if isinstance(t, torch.Tensor) else torch.tensor(float(t))
        self.calls.append((x.detach().clone(), tt.detach().clone()))
        tt = tt.to(x.dtype).reshape(-1)
        if tt.numel() != x.shape[0]:      # a wrong shape: answer anyway, the test reports it afterwards
            tt = tt[:1].expand(x.shape[0])
        return self.value(x, tt)


def _pair(result, what):
    assert isinstance(result, (tuple, list)) and len(result) == 2, f"{what} should return a pair"
    return result


def _check_time_arg(t, n, dtype, what):
    assert t.dim() == 1 and t.shape[0] == n, \
        f"{what}: the model was called with t of shape {tuple(t.shape)}; pass one time per row, shape ({n},)"
    assert t.dtype == dtype, f"{what}: the model was called with t in {t.dtype}; use the dtype of the states ({dtype})"


# --------------------------------------------------------------------------- interpolate

def test_interpolate(learner, ref, seed):
    g = generator(seed)
    for N, D in [(7, 2), (3, 3), (1, 5), (64, 2), (4, 4)]:
        for dtype in (F32, F64):
            what = f"N={N}, D={D}, {dtype}"
            x0 = torch.randn(N, D, generator=g, dtype=F64).to(dtype)
            eps = torch.randn(N, D, generator=g, dtype=F64).to(dtype)
            t = torch.rand(N, generator=g, dtype=F64).to(dtype)
            t[0] = 0.0
            if N > 2:
                t[1] = 1.0
            x_t, vel = _pair(learner.interpolate(x0, eps, t), "interpolate")
            ex, ev = ref.interpolate(x0, eps, t)
            check_tensor(x_t, shape=(N, D), dtype=dtype, what=f"x_t ({what})")
            check_tensor(vel, shape=(N, D), dtype=dtype, what=f"velocity ({what})")
            check_close(x_t, ex, what=f"x_t ({what})",
                        hint="x_t = (1 - t) x0 + t noise, with t broadcast over the coordinates of its row.")
            check_close(vel, ev, what=f"velocity ({what})", hint="The time derivative of x_t.")
            if dtype == F64:
                up = (torch.randn(N, D, generator=g, dtype=F64), torch.randn(N, D, generator=g, dtype=F64))
                leaves = [v.clone().requires_grad_(True) for v in (x0, eps, t)]
                a, b = ref.interpolate(*leaves)
                torch.autograd.backward([a, b], list(up))
                _, grads, _ = learner.interpolate.grad(x0, eps, t, upstream=up)
                for name, got, leaf in zip(("x0", "noise", "t"), grads, leaves):
                    assert got is not None, f"no gradient reaches {name} ({what})"
                    check_close(got, leaf.grad, what=f"gradient with respect to {name} ({what})")


# --------------------------------------------------------------------------- fm_loss

def test_fm_loss(learner, ref, seed):
    g = generator(seed)
    for ci, (N, D) in enumerate([(9, 2), (4, 3), (33, 2), (3, 3)]):
        for dtype in (F32, F64):
            what = f"N={N}, D={D}, {dtype}"
            field = Field(seed + ci, D)
            x0 = torch.randn(N, D, generator=g, dtype=F64).to(dtype)
            eps = torch.randn(N, D, generator=g, dtype=F64).to(dtype)
            t = torch.rand(N, generator=g, dtype=F64).to(dtype)
            with learner.patched(interpolate=ref.interpolate, judge_velocity=field):
                loss = learner.fm_loss(FIELD, x0, eps, t)
            expected = ref.fm_loss(field.value, x0, eps, t)
            check_tensor(loss, shape=(), dtype=dtype, what=f"loss ({what})")
            assert len(field.calls) == 1, \
                f"fm_loss ({what}) called the model {len(field.calls)} times; it should call it once, on (x_t, t)"
            x_seen, t_seen = field.calls[0]
            _check_time_arg(t_seen, N, dtype, f"fm_loss ({what})")
            check_close(t_seen, t, what=f"the times passed to the model ({what})", hint="Pass t as given.")
            check_close(x_seen, ref.interpolate(x0, eps, t)[0], what=f"the states passed to the model ({what})",
                        hint="The model sees the point x_t on the path.")
            check_close(loss, expected, what=f"loss ({what})",
                        hint="The squared error against noise - x0, summed over the coordinates, averaged over the batch.")
    # gradients of a model's parameters, computed in the notebook, against the judge's copy
    for ci, dtype in enumerate((F64, F32)):
        model = learner.fixture("TinyVelocity")(2, 16, seed + ci)
        theirs = ref.fixtures.TinyVelocity(2, 16, seed + ci)
        if dtype == F32:
            model.float()
            theirs.float()
        x0 = torch.randn(40, 2, generator=g, dtype=F64).to(dtype)
        eps = torch.randn(40, 2, generator=g, dtype=F64).to(dtype)
        t = torch.rand(40, generator=g, dtype=F64).to(dtype)
        with learner.patched(interpolate=ref.interpolate):
            loss, grads = learner.fixture("loss_and_grads")(learner.fm_loss, model, x0, eps, t)
        eloss = ref.fm_loss(theirs, x0, eps, t)
        eloss.backward()
        check_close(loss, eloss.detach(), what=f"loss of a small network ({dtype})")
        for name, p in theirs.named_parameters():
            got = grads.get(name)
            assert got is not None, f"no gradient reaches the model's parameter {name}: is the prediction detached?"
            check_close(got, p.grad, what=f"gradient of the model's {name} ({dtype})")


# --------------------------------------------------------------------------- euler_sample

def test_euler_sample(learner, ref, seed):
    g = generator(seed)
    for ci, (N, D, steps) in enumerate([(6, 2, 1), (5, 2, 2), (8, 3, 5), (3, 2, 13), (1, 4, 3)]):
        for dtype in (F32, F64):
            what = f"{steps} step{'s' if steps > 1 else ''}, N={N}, D={D}, {dtype}"
            field = Field(seed + 10 + ci, D)
            noise = torch.randn(N, D, generator=g, dtype=F64).to(dtype)
            ex, etraj = ref.euler_sample(field.value, noise, steps, trajectory=True)
            with learner.patched(judge_velocity=field):
                x = learner.euler_sample(FIELD, noise, steps)
            assert len(field.calls) == steps, \
                f"euler_sample ({what}) called the model {len(field.calls)} times; k steps call it exactly k times"
            for i, (x_seen, t_seen) in enumerate(field.calls):
                _check_time_arg(t_seen, N, dtype, f"euler_sample ({what}), call {i}")
                check_close(t_seen, torch.full((N,), 1 - i / steps, dtype=dtype), what=f"t of call {i} ({what})",
                            hint="Step i is taken at t = 1 - i / steps, from t = 1 (noise) down to t = 0.")
                check_close(x_seen, etraj[i], what=f"the state passed to the model in call {i} ({what})",
                            hint="x <- x - h * velocity: time runs from 1 down to 0.")
            check_tensor(x, shape=(N, D), dtype=dtype, what=f"samples ({what})")
            check_close(x, ex, what=f"samples ({what})")
            field.calls.clear()
            with learner.patched(judge_velocity=field):
                res = _pair(learner.euler_sample(FIELD, noise, steps, trajectory=True), "euler_sample(..., trajectory=True)")
            assert len(field.calls) == steps, f"with trajectory=True ({what}) the model should still be called {steps} times"
            check_tensor(res[1], shape=(steps + 1, N, D), dtype=dtype, what=f"trajectory ({what})")
            check_close(res[1], etraj, what=f"trajectory ({what})",
                        hint="traj[i] is the state at t = 1 - i / steps; traj[0] is the noise itself.")
            check_close(res[0], ex, what=f"samples with trajectory=True ({what})")
    probe = learner.fixture("GradProbe")()
    learner.euler_sample(probe, torch.randn(4, 2, generator=g), 3)
    log = learner.fixture("probe_log")(probe)
    assert len(log) == 3 and not any(log), "euler_sample should run the model without gradients (torch.no_grad())"


# --------------------------------------------------------------------------- reflow_pairs

def test_reflow_pairs(learner, ref, seed):
    for ci, (n, steps, dim) in enumerate([(17, 7, 3), (50, 4, 2), (128, 2, 2)]):
        what = f"n={n}, steps={steps}, dim={dim}"
        field = Field(seed + 20 + ci, dim)
        passes = []

        def euler_stand_in(model, noise, steps_, trajectory=False):
            passes.append((tuple(noise.shape), steps_))
            return ref.euler_sample(field.value, noise, steps_, trajectory)

        run_seed = (seed + ci) % 100_000
        with learner.patched(judge_velocity=field, euler_sample=euler_stand_in):
            x0, noise = _pair(learner.reflow_pairs(FIELD, n, steps, seed=run_seed, dim=dim), "reflow_pairs")
        check_tensor(x0, shape=(n, dim), dtype=F32, what=f"x0 ({what})")
        check_tensor(noise, shape=(n, dim), dtype=F32, what=f"noise ({what})")
        check_close(noise, torch.randn(n, dim, generator=generator(run_seed)), what=f"noise ({what})",
                    hint="noise = torch.randn(n, dim, generator=generator(seed)), drawn once, returned as the second element.")
        evaluations = sum(shape[0] * k for shape, k in passes) + sum(xs.shape[0] for xs, _ in field.calls)
        one_batch = (len(passes) == 1 and not field.calls) or (not passes and len(field.calls) == steps)
        assert one_batch and evaluations == n * steps, \
            f"reflow_pairs ({what}) should integrate all n noise draws in one batch (one Euler run of {steps} steps)"
        assert all(s == steps for _, s in passes), f"reflow_pairs ({what}) should integrate with the given number of steps"
        check_close(x0, ref.euler_sample(field.value, noise, steps), what=f"x0 ({what})",
                    hint="Each x0[i] must be the end of the ODE trajectory that starts at noise[i] (same row, "
                         "same steps): the ODE's own coupling, not an independent draw.")


# --------------------------------------------------------------------------- straightness

def test_straightness(learner, ref, seed):
    g = generator(seed)
    for k, N, D in [(1, 5, 2), (4, 1, 2), (7, 9, 3), (20, 3, 2), (3, 6, 1)]:
        for dtype in (F32, F64):
            what = f"k={k}, N={N}, D={D}, {dtype}"
            traj = torch.randn(k + 1, N, D, generator=g, dtype=F64).to(dtype).cumsum(0)
            got = learner.straightness(traj)
            check_tensor(got, shape=(), dtype=dtype, what=f"straightness ({what})")
            check_close(got, ref.straightness(traj), what=f"straightness ({what})",
                        hint="Average over the k steps and the N paths of the squared norm (summed over the coordinates) "
                             "of (traj[0] - traj[k]) minus the step's velocity k (traj[i] - traj[i+1]).")
            if dtype == F64:
                leaf = traj.clone().requires_grad_(True)
                ref.straightness(leaf).backward()
                _, (gt,), _ = learner.straightness.grad(traj, upstream=torch.tensor(1.0, dtype=F64))
                assert gt is not None, f"no gradient reaches the trajectory ({what})"
                check_close(gt, leaf.grad, what=f"gradient with respect to the trajectory ({what})")
    line = torch.linspace(1, 0, 6, dtype=F64)[:, None, None] * torch.randn(1, 4, 2, generator=g, dtype=F64)
    assert abs(float(learner.straightness(line))) < 1e-12, "straight paths at constant speed should score 0"


# --------------------------------------------------------------------------- train_flow

EXACT_STEPS, EXACT_BATCH, EXACT_LR = 6, 32, 0.02
# calibrated with the reference loop and its mutants (see bench.py's docstring)
LONG_STEPS, LONG_BATCH, LONG_LR = 200, 64, 0.02
MAX_RATIO = 0.35


def _paired_data(seed, m=400):
    g = generator(seed)
    x0 = torch.randn(m, 2, generator=g, dtype=F64) * 0.8
    R = torch.tensor([[0.8, -0.6], [0.6, 0.8]], dtype=F64)
    return x0, torch.tanh(x0 @ R) * 1.5 + 0.2


def _held_out(ref, state, seed):
    model = ref.fixtures.TinyVelocity(2, 32, 0)
    model.load_state_dict(state)
    x0, eps = _paired_data(seed + 777, 2000)
    t = torch.rand(2000, generator=generator(seed + 778), dtype=F64)
    return ref.fixtures.regression_loss(model, x0, eps, t).detach().item()


def _run(learner, ref, data, noise, steps, batch, lr, run_seed, model_seed):
    model = learner.fixture("TinyVelocity")(2, 32, model_seed)
    learner.fixture("seen_times")()
    losses = learner.train_flow(model, data, steps, batch_size=batch, lr=lr, seed=run_seed, noise=noise,
                                loss_fn=learner.fixture("regression_loss"))
    times = learner.fixture("seen_times")()
    state = model.state_dict()
    assert isinstance(losses, (list, tuple)) and len(losses) == steps, \
        f"train_flow should return one loss per step ({steps})"
    assert all(isinstance(v, float) for v in losses), "the losses should be Python floats"
    assert len(times) == steps, f"train_flow should call loss_fn once per step ({len(times)} calls in {steps} steps)"
    assert all(s == (batch,) for s in times), \
        f"the times passed to loss_fn should have shape ({batch},), one per sample (got {times[0]})"
    return losses, state


def test_train_flow(learner, ref, seed):
    run_seed = seed % 100_000
    x0, eps = _paired_data(seed)
    loss_fn = ref.fixtures.regression_loss
    for paired in (False, True):
        mode = "with reflow pairs (noise given)" if paired else "with fresh noise (noise=None)"
        noise = eps if paired else None
        losses, state = _run(learner, ref, x0, noise, EXACT_STEPS, EXACT_BATCH, EXACT_LR, run_seed, run_seed + 1)
        theirs = ref.fixtures.TinyVelocity(2, 32, run_seed + 1)
        expected = ref.train_flow(theirs, x0, EXACT_STEPS, batch_size=EXACT_BATCH, lr=EXACT_LR, seed=run_seed,
                                  noise=noise, loss_fn=loss_fn)
        check_close(torch.tensor(losses[:1], dtype=F64), torch.tensor(expected[:1], dtype=F64),
                    what=f"the first loss {mode}",
                    hint="g = generator(seed) once; per step the indices, then the times, then (without noise) the "
                         "Gaussian noise, as the docstring says; loss_fn(model, data[idx], eps, t).")
        check_close(torch.tensor(losses, dtype=F64), torch.tensor(expected, dtype=F64),
                    what=f"the losses of the first {EXACT_STEPS} steps {mode}",
                    hint="Zero the gradients, back-propagate, step; the learning rate of step i is lr * (1 - i / steps).")
        for name, p in theirs.state_dict().items():
            check_close(state[name], p, what=f"the weights {name} after {EXACT_STEPS} steps {mode}",
                        hint="Adam on model.parameters() with the linearly decaying learning rate.")
    _, state = _run(learner, ref, x0, eps, LONG_STEPS, LONG_BATCH, LONG_LR, run_seed + 2, 0)
    before = _held_out(ref, ref.fixtures.TinyVelocity(2, 32, 0).state_dict(), seed)
    after = _held_out(ref, state, seed)
    assert after <= MAX_RATIO * before, (
        f"{LONG_STEPS} steps of your loop on reflow pairs took a small model's loss on held-out pairs from "
        f"{before:.3f} to {after:.3f}; a working loop lowers it well below {MAX_RATIO:.0%} of the start: keep data[i] "
        f"with noise[i], draw t per sample, and zero, compute and apply the gradients in that order")
