"""Hidden tests of the DDPM/DDIM exercise, run by the judge (see autograder/judge).

``learner`` calls the notebook's code across the sandbox boundary and returns plain data;
``ref`` is the solution notebook's code, in the judge's process. The networks and generators
the learner's functions receive are built in the learner's process by ``fixtures.py``; the
judge builds the same ones from the same seeds, so the learner's outputs are compared with
the reference's given the same network, starting noise and random draws. Form checks: the
loss calls the network once with one step per example; a sampler asked for S steps calls
the network S times; DDIM with eta = 0 draws no random number (global or from g).
"""
import torch

from autograder.judge.channel import LearnerError
from dlcourse.testing import check_close, check_tensor, generator

F32, F64 = torch.float32, torch.float64


def _schedule(ref, T, lo=1e-4, hi=0.02):
    return ref.linear_schedule(T, lo, hi)[2]


def _net(learner, ref, seed, T, dim, dtype):
    return learner.fixture("TestEps")(seed, T, dim, 16, dtype), ref.fixtures.TestEps(seed, T, dim, 16, dtype)


def _x(seed, n, dim, dtype, scale=1.0):
    return (torch.randn(n, dim, generator=generator(seed), dtype=F64) * scale).to(dtype)


# --------------------------------------------------------------------------- linear_schedule

def test_linear_schedule(learner, ref, seed):
    for T, lo, hi in [(1000, 1e-4, 0.02), (50, 1e-3, 0.2), (7, 0.05, 0.5), (2, 0.1, 0.3), (333, 2e-4, 0.04)]:
        what = f"linear_schedule({T}, {lo}, {hi})"
        out = learner.linear_schedule(T, lo, hi)
        assert isinstance(out, (tuple, list)) and len(out) == 3, f"{what} should return (betas, alphas, alpha_bars)"
        for name, got, want in zip(("betas", "alphas", "alpha_bars"), out, ref.linear_schedule(T, lo, hi)):
            check_tensor(got, shape=(T,), dtype=F64, what=f"{name} of {what}")
            check_close(got, want, rtol=1e-10, atol=1e-13, what=f"{name} of {what}",
                        hint="alpha_bars[i] is the product of alphas[0] .. alphas[i], the i-th one included."
                        if name == "alpha_bars" else "")


# --------------------------------------------------------------------------- q_sample

def test_q_sample(learner, ref, seed):
    for k, (T, N, dim, dtype) in enumerate([(100, 37, 2, F64), (1000, 20, 3, F32), (10, 9, 1, F64), (1000, 64, 2, F64)]):
        what = f"q_sample (T={T}, x0 of shape ({N}, {dim}), {dtype})"
        ab = _schedule(ref, T)
        x0 = _x(seed + k, N, dim, dtype, 1.5)
        eps = _x(seed + 50 + k, N, dim, dtype)
        t = torch.randint(0, T, (N,), generator=generator(seed + 90 + k))
        t[:3] = torch.tensor([0, T - 1, T // 2])
        got = learner.q_sample(x0, t, eps, ab)
        check_close(got, ref.q_sample(x0, t, eps, ab), what=what,
                    hint="x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, with alpha_bar_t = alpha_bars[t] per row.")
        if dtype == F64:
            up = _x(seed + 70 + k, N, dim, dtype)
            _, grads, _ = learner.q_sample.grad(x0, t, eps, ab, upstream=up)
            xg, eg = x0.clone().requires_grad_(True), eps.clone().requires_grad_(True)
            ref.q_sample(xg, t, eg, ab).backward(up)
            check_close(grads[0], xg.grad, what=f"gradient with respect to x0 ({what})")
            check_close(grads[1], eg.grad, what=f"gradient with respect to eps ({what})")


# --------------------------------------------------------------------------- ddpm_loss

def test_ddpm_loss(learner, ref, seed):
    with learner.patched(q_sample=ref.q_sample):
        for k, (T, N, dim, dtype) in enumerate([(100, 64, 2, F64), (1000, 33, 3, F64), (1000, 50, 2, F32)]):
            what = f"ddpm_loss (T={T}, batch of {N} points in {dim}-D, {dtype})"
            ab = _schedule(ref, T)
            net, ref_net = _net(learner, ref, seed + k, T, dim, dtype)
            x0 = _x(seed + 10 + k, N, dim, dtype, 1.5)
            s = seed + 20 + k
            learner.fixture("calls")(net)
            loss = learner.ddpm_loss(net, x0, ab, learner.fixture("rng")(s))
            n = learner.fixture("calls")(net)
            assert n == 1, f"{what}: call the network once on the whole batch (it was called {n} times)"
            t_seen = net.last_t.get()
            t_want = torch.randint(0, T, (N,), generator=generator(s))
            assert isinstance(t_seen, torch.Tensor) and t_seen.shape == (N,), \
                f"{what}: the network should receive one step per example, a tensor of shape ({N},)"
            assert torch.equal(t_seen.long(), t_want), \
                (f"{what}: the network did not receive the steps t = torch.randint(0, T, (N,), generator=g), "
                 "one per example, drawn before the noise")
            check_tensor(loss, shape=(), dtype=dtype, what=f"loss ({what})")
            check_close(loss, ref.ddpm_loss(ref_net, x0, ab, generator(s)).detach(), what=what,
                        hint="The mean of (model(x_t, t) - eps)^2 over the batch and the coordinates, with eps drawn "
                             "after t from the same generator.")
            got = learner.fixture("param_grads")(learner.ddpm_loss, net, x0, ab, learner.fixture("rng")(s + 1))
            want = ref.fixtures.param_grads(ref.ddpm_loss, ref_net, x0, ab, generator(s + 1))
            for name, gw in want.items():
                gg = got.get(name)
                assert gg is not None, f"{what}: no gradient reaches the network's parameter {name}"
                check_close(gg, gw, what=f"gradient of the loss with respect to {name} ({what})")


# --------------------------------------------------------------------------- samplers

def _sampler_case(learner, ref, seed, T, dim, dtype):
    """The schedule, the learner's and the judge's copies of one test network (its call count
    reset), a starting noise x_T of 24 points and a generator seed."""
    ab = _schedule(ref, T)
    net, ref_net = _net(learner, ref, seed, T, dim, dtype)
    learner.fixture("calls")(net)
    return ab, net, ref_net, _x(seed + 1, 24, dim, dtype), seed + 2


def _sample(fn, kwargs, what):
    try:
        return fn(**kwargs)
    except LearnerError as e:
        raise AssertionError(f"{what}: your sampler raised {e.name}: {e.message[:300]}") from None


_DDPM_CASES = [(100, None, "beta", F64, 2), (100, None, "posterior", F64, 3), (1000, 10, "posterior", F64, 2),
               (1000, 50, "beta", F32, 2), (1000, 2, "beta", F64, 1)]


def test_ddpm_sample(learner, ref, seed):
    for k, (T, S, variance, dtype, dim) in enumerate(_DDPM_CASES):
        what = f"ddpm_sample (T={T}, num_steps={S}, variance='{variance}', {dtype}, {dim}-D)"
        ab, net, ref_net, x_T, s = _sampler_case(learner, ref, seed + 100 + 3 * k, T, dim, dtype)
        got = _sample(learner.ddpm_sample, dict(model=net, x_T=x_T, alpha_bars=ab, num_steps=S,
                                                g=learner.fixture("rng")(s), variance=variance), what)
        n = learner.fixture("calls")(net)
        assert n == (S or T), f"{what}: the network should be called once per visited step ({S or T}), not {n} times"
        want = ref.ddpm_sample(ref_net, x_T, ab, num_steps=S, g=generator(s), variance=variance)
        hint = ("With respacing, beta' = 1 - alpha_bar(tau_i) / alpha_bar(tau_(i-1)), and the posterior variance "
                "uses alpha_bar(tau_(i-1)); z is drawn from g after every step but the last." if S and S < T else
                "x_(t-1) = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) + sigma_t z, no noise at the last step.")
        check_close(got, want, what=what, hint=hint)


_DDIM_CASES = [(100, 100, 0.0, F64, 2), (1000, 50, 0.0, F64, 2), (1000, 10, 0.0, F32, 3), (100, 20, 0.5, F64, 1),
               (1000, 10, 1.0, F64, 2)]


def test_ddim_sample(learner, ref, seed):
    for k, (T, S, eta, dtype, dim) in enumerate(_DDIM_CASES):
        what = f"ddim_sample (T={T}, num_steps={S}, eta={eta}, {dtype}, {dim}-D)"
        ab, net, ref_net, x_T, s = _sampler_case(learner, ref, seed + 400 + 3 * k, T, dim, dtype)
        g = learner.fixture("rng")(s)
        before = learner.fixture("rng_digest")(g), learner.fixture("global_rng_digest")()
        got = _sample(learner.ddim_sample, dict(model=net, x_T=x_T, alpha_bars=ab, num_steps=S, eta=eta, g=g), what)
        after = learner.fixture("rng_digest")(g), learner.fixture("global_rng_digest")()
        n = learner.fixture("calls")(net)
        assert n == S, f"{what}: the network should be called once per visited step ({S}), not {n} times"
        if eta == 0:
            assert before == after, \
                f"{what}: with eta = 0 DDIM must draw no random numbers at all (from g or the global generator)"
            again = _sample(learner.ddim_sample, dict(model=net, x_T=x_T, alpha_bars=ab, num_steps=S), what + ", g=None")
            assert torch.equal(got, again), f"{what}: with eta = 0 the same x_T should give the same samples"
        want = ref.ddim_sample(ref_net, x_T, ab, S, eta=eta, g=generator(s))
        check_close(got, want, what=what,
                    hint="x_prev = sqrt(ab_prev) x0_pred + sqrt(1 - ab_prev - sigma^2) eps + sigma z, with "
                         "sigma = eta sqrt((1 - ab_prev) / (1 - ab_t)) sqrt(1 - ab_t / ab_prev) and ab_prev = 1 at the end.")


# --------------------------------------------------------------------------- train_ddpm

# The loop is replayed: the grader's DenoiseNet and denoise_loss (fixtures.py), trained by the
# learner's loop and by the reference's from the same weights and seed, must give the same
# losses and weights (float32, one process each; a correct loop written differently agrees to
# about 1e-6). TRAIN_STEPS steps take about 0.1 s.
TRAIN_STEPS, TRAIN_BATCH, TRAIN_LR = 60, 64, 1e-2


def test_train_ddpm(learner, ref, seed):
    s = seed % 100_000
    net = learner.fixture("DenoiseNet")(s)
    start = {k: v.clone() for k, v in net.params()["params"].items()}
    losses = learner.train_ddpm(net, learner.fixture("denoise_loss"), TRAIN_STEPS, batch_size=TRAIN_BATCH,
                                lr=TRAIN_LR, seed=s)
    assert isinstance(losses, (list, tuple)) and len(losses) == TRAIN_STEPS and \
        all(isinstance(v, float) for v in losses), f"train_ddpm must return the list of its {TRAIN_STEPS} losses as floats"
    trained = net.params()["params"]
    ref_net = ref.fixtures.DenoiseNet(s)
    ref_net.load_state_dict(start)
    want = ref.train_ddpm(ref_net, ref.fixtures.denoise_loss, TRAIN_STEPS, batch_size=TRAIN_BATCH, lr=TRAIN_LR, seed=s)
    assert abs(losses[0] - want[0]) <= 1e-5 * (1 + abs(want[0])), \
        ("the first loss is not loss_fn(model, x0, g) of the untrained model on the first batch "
         "(x0 = sample_moons(batch_size, g) with g = generator(seed), the same g passed to loss_fn)")
    assert sum(trained[k].ne(start[k]).sum().item() for k in start) > 0, "the model's weights did not change"
    check_close(torch.tensor(losses), torch.tensor(want), rtol=1e-3, atol=1e-5, what="the losses of the run",
                hint="Each step: a fresh batch from the one generator g, the loss, zero the gradients, backward, "
                     "one Adam step with the given learning rate.")
    for name, p in ref_net.named_parameters():
        check_close(trained[name], p.detach(), rtol=1e-3, atol=1e-5, what=f"the trained weights {name}")
