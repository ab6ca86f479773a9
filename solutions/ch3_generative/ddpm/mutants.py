"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/authoring/variants.py."""
from autograder.authoring.variants import mutant, variant

SCHED, QS, LOSS, DDPM, DDIM, TRAIN = "linear_schedule", "q_sample", "ddpm_loss", "ddpm_sample", "ddim_sample", "train_ddpm"

_BETAS = "    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)"
_ALPHAS = "    alphas = 1 - betas"
_ABAR = "    alpha_bars = torch.cumprod(alphas, dim=0)"
_QAB = "    ab = alpha_bars[t].to(x0.dtype)[:, None]"
_QX = "    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps"
_LT = "    t = torch.randint(0, T, (x0.shape[0],), generator=g)"
_LEPS = "    eps = torch.randn(x0.shape, generator=g, dtype=x0.dtype)"
_LRET = "    return ((model(x_t, t) - eps) ** 2).mean()"
_CALL = "        eps = model(x, torch.full((x.shape[0],), tau, dtype=torch.long))"
_PREV = "        ab_prev = alpha_bars[steps[i - 1]].item() if i > 0 else 1.0"
_BETA = "        beta = 1 - ab_t / ab_prev"
_MEAN = "        mean = (x - beta / math.sqrt(1 - ab_t) * eps) / math.sqrt(1 - beta)"
_VAR = '        var = beta if variance == "beta" else (1 - ab_prev) / (1 - ab_t) * beta'
_NOISE = "        x = mean + math.sqrt(var) * torch.randn(x.shape, generator=g, dtype=x.dtype)"
_LAST = "        if i == 0:\n            return mean\n"
_X0 = "        x0_pred = (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)"
_SIG = "        sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))"
_STEP = "        x = math.sqrt(ab_prev) * x0_pred + math.sqrt(1 - ab_prev - sigma**2) * eps"
_DRAW = "        if sigma > 0:\n            x = x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)"
_OPT = "    opt = torch.optim.Adam(model.parameters(), lr=lr)"
_BATCH = "        x0 = sample_moons(batch_size, g)"

MUTANTS = [
    # --- linear_schedule ---
    mutant(SCHED, "abar_off_by_one", "alpha_bar one step late: alpha_bars[0] = 1 (the product stops before step i)",
           edits=[(_ABAR, "    alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(alphas, dim=0)[:-1]])")]),
    mutant(SCHED, "cumprod_betas", "alpha_bar as the running product of the betas",
           edits=[(_ABAR, "    alpha_bars = torch.cumprod(betas, dim=0)")]),
    mutant(SCHED, "one_minus_cumsum", "alpha_bar as 1 minus the running sum of the betas (first-order approximation)",
           edits=[(_ABAR, "    alpha_bars = 1 - torch.cumsum(betas, dim=0)")]),
    mutant(SCHED, "float32_linspace", "the betas computed in float32 and cast to float64 afterwards",
           edits=[(_BETAS, "    betas = torch.linspace(beta_start, beta_end, T).double()")]),
    mutant(SCHED, "endpoint_missed", "beta_start + (beta_end - beta_start) * i / T: never reaches beta_end",
           edits=[(_BETAS, "    betas = beta_start + (beta_end - beta_start) * torch.arange(T, dtype=torch.float64) / T")]),
    mutant(SCHED, "sqrt_alphas", "alphas = sqrt(1 - beta), the factor of the mean, instead of 1 - beta",
           edits=[(_ALPHAS + "\n    alpha_bars", "    alphas = (1 - betas).sqrt()\n    alpha_bars")]),
    # --- q_sample ---
    mutant(QS, "signal_no_sqrt", "alpha_bar * x0 instead of sqrt(alpha_bar) * x0",
           edits=[(_QX, "    return ab * x0 + (1 - ab).sqrt() * eps")]),
    mutant(QS, "noise_no_sqrt", "(1 - alpha_bar) * eps: the variance used as the standard deviation",
           edits=[(_QX, "    return ab.sqrt() * x0 + (1 - ab) * eps")]),
    mutant(QS, "one_minus_sqrt", "1 - sqrt(alpha_bar) as the noise scale",
           edits=[(_QX, "    return ab.sqrt() * x0 + (1 - ab.sqrt()) * eps")]),
    mutant(QS, "index_off_by_one", "alpha_bars[t - 1]: the paper's 1-based step used as a 0-based index",
           edits=[(_QAB, "    ab = alpha_bars[t - 1].to(x0.dtype)[:, None]")]),
    mutant(QS, "variance_exploding", "x0 + sqrt(1 - alpha_bar) eps: the signal is not shrunk",
           edits=[(_QX, "    return x0 + (1 - ab).sqrt() * eps")]),
    mutant(QS, "swapped", "the weights of x0 and eps swapped",
           edits=[(_QX, "    return (1 - ab).sqrt() * x0 + ab.sqrt() * eps")]),
    # --- ddpm_loss ---
    mutant(LOSS, "one_t_per_batch", "one step for the whole batch instead of one per example",
           edits=[(_LT, "    t = torch.randint(0, T, (1,), generator=g).expand(x0.shape[0])")]),
    mutant(LOSS, "t_from_one", "steps drawn from 1 .. T-1 (the paper's 1-based range, shifted)",
           edits=[(_LT, "    t = torch.randint(1, T, (x0.shape[0],), generator=g)")]),
    mutant(LOSS, "noise_first", "draws the noise before the steps",
           edits=[(_LT + "\n" + _LEPS, _LEPS + "\n" + _LT)]),
    mutant(LOSS, "predicts_x0", "regresses the clean point instead of the noise",
           edits=[(_LRET, "    return ((model(x_t, t) - x0) ** 2).mean()")]),
    mutant(LOSS, "sum_over_coords", "sums the squared error over the coordinates before the batch mean",
           edits=[(_LRET, "    return ((model(x_t, t) - eps) ** 2).sum(1).mean()")]),
    mutant(LOSS, "per_example_calls", "right numbers, one network call per example",
           edits=[(_LRET, "    return torch.stack([((model(x_t[i:i + 1], t[i:i + 1]) - eps[i:i + 1]) ** 2).mean()\n"
                          "                        for i in range(x0.shape[0])]).mean()")]),
    # --- ddpm_sample ---
    mutant(DDPM, "original_beta", "respaced, but beta taken from the original schedule's neighbouring step",
           edits=[(_BETA, "        beta = 1 - ab_t / (alpha_bars[tau - 1].item() if tau > 0 else 1.0)")]),
    mutant(DDPM, "posterior_inverted", "the posterior variance with the ratio upside down",
           edits=[(_VAR, '        var = beta if variance == "beta" else (1 - ab_t) / (1 - ab_prev) * beta')]),
    mutant(DDPM, "divides_by_sqrt_abar", "divides the mean by sqrt(alpha_bar_t) instead of sqrt(alpha_t)",
           edits=[(_MEAN, "        mean = (x - beta / math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)")]),
    mutant(DDPM, "noise_at_last_step", "adds noise after the last step too",
           edits=[(_LAST, ""), (_NOISE, _NOISE + "\n    return x")]),
    mutant(DDPM, "global_noise", "draws z from the global generator",
           edits=[(_NOISE, "        x = mean + math.sqrt(var) * torch.randn_like(x)")]),
    mutant(DDPM, "ignores_num_steps", "always runs all T steps (right samples, T network calls)",
           edits=[("    steps = respaced_timesteps(T, num_steps or T)", "    steps = respaced_timesteps(T, T)")]),
    # --- ddim_sample ---
    mutant(DDIM, "eta_sign", "1 - alpha_bar_prev + sigma^2 under the square root",
           edits=[(_STEP, "        x = math.sqrt(ab_prev) * x0_pred + math.sqrt(1 - ab_prev + sigma**2) * eps")]),
    mutant(DDIM, "sigma_no_sqrt", "sigma(eta) without its square roots",
           edits=[(_SIG, "        sigma = eta * (1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev)")]),
    mutant(DDIM, "prev_unrespaced", "respaced, but alpha_bar_prev taken at tau - 1 instead of the previous visited step",
           edits=[(_PREV, "        ab_prev = alpha_bars[tau - 1].item() if tau > 0 else 1.0")]),
    mutant(DDIM, "always_draws", "right numbers, but draws noise at every step and multiplies it by sigma = 0",
           edits=[(_DRAW, "        x = x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)")]),
    mutant(DDIM, "two_calls", "right numbers, one network call for x0_pred and another for the direction",
           edits=[(_X0 + "\n" + _SIG + "\n" + _STEP,
                   _X0.replace("* eps)", "* model(x, torch.full((x.shape[0],), tau, dtype=torch.long)))") + "\n" + _SIG +
                   "\n" + _STEP.replace("* eps", "* model(x, torch.full((x.shape[0],), tau, dtype=torch.long))"))]),
    mutant(DDIM, "skips_last_step", "stops at the first visited step without the final jump to x_0",
           edits=[("    for i in range(len(steps) - 1, -1, -1):", "    for i in range(len(steps) - 1, 0, -1):")]),
    # --- train_ddpm ---
    mutant(TRAIN, "no_zero_grad", "never clears the gradients",
           edits=[("        opt.zero_grad()\n", "")]),
    mutant(TRAIN, "no_step", "never takes the optimiser's step",
           edits=[("        opt.step()\n", "")]),
    mutant(TRAIN, "generator_per_step", "creates the generator inside the loop: the same batch and noise every step",
           edits=[("    g = generator(seed)\n", ""), (_BATCH, "        g = generator(seed)\n" + _BATCH)]),
    mutant(TRAIN, "default_lr", "Adam with its default learning rate",
           edits=[(_OPT, "    opt = torch.optim.Adam(model.parameters())")]),
    mutant(TRAIN, "sgd", "plain SGD instead of Adam",
           edits=[(_OPT, "    opt = torch.optim.SGD(model.parameters(), lr=lr)")]),
    mutant(TRAIN, "tensor_losses", "returns the loss tensors instead of Python floats",
           edits=[("        losses.append(loss.item())", "        losses.append(loss.detach())")]),
]

VARIANTS = [
    # --- linear_schedule ---
    variant(SCHED, "log_space", "alpha_bar as exp of the running sum of log alphas",
            edits=[(_ABAR, "    alpha_bars = torch.exp(torch.cumsum(torch.log(alphas), dim=0))")]),
    variant(SCHED, "loop", "a Python loop for the running product",
            edits=[(_ABAR, "    alpha_bars = alphas.clone()\n    for i in range(1, T):\n"
                           "        alpha_bars[i] = alpha_bars[i - 1] * alphas[i]")]),
    variant(SCHED, "numpy", "numpy's linspace and cumprod",
            edits=[(_BETAS + "\n" + _ALPHAS + "\n" + _ABAR,
                    "    import numpy as np\n    b = np.linspace(beta_start, beta_end, T)\n"
                    "    betas, alphas = torch.from_numpy(b), torch.from_numpy(1.0 - b)\n"
                    "    alpha_bars = torch.from_numpy(np.cumprod(1.0 - b))")]),
    # --- q_sample ---
    variant(QS, "torch_sqrt_view", "torch.sqrt and view", edits=[
        (_QAB + "\n" + _QX, "    ab = alpha_bars.to(x0.dtype)[t].view(-1, 1)\n"
                            "    return torch.sqrt(ab) * x0 + torch.sqrt(1.0 - ab) * eps")]),
    variant(QS, "float64_then_cast", "computes in float64 and casts the result", edits=[
        (_QAB + "\n" + _QX, "    s, n = alpha_bars[t].sqrt().unsqueeze(1), (1 - alpha_bars[t]).sqrt().unsqueeze(1)\n"
                            "    return (s * x0.double() + n * eps.double()).to(x0.dtype)")]),
    variant(QS, "gather_expand", "gather and expand_as", edits=[
        (_QAB, "    ab = alpha_bars.gather(0, t).to(x0.dtype).unsqueeze(-1).expand_as(x0)")]),
    # --- ddpm_loss ---
    variant(LOSS, "mse_loss", "torch.nn.functional.mse_loss", edits=[
        (_LRET, "    return torch.nn.functional.mse_loss(model(x_t, t), eps)")]),
    variant(LOSS, "square_len", "len() and square()", edits=[
        ("    T = alpha_bars.shape[0]", "    T = len(alpha_bars)"),
        (_LRET, "    pred = model(x_t, t)\n    return (eps - pred).square().mean()")]),
    variant(LOSS, "size_keyword", "size as a keyword, noise via empty().normal_()", edits=[
        (_LT, "    t = torch.randint(low=0, high=T, size=(len(x0),), generator=g)"),
        (_LRET, "    err = model(x_t, t) - eps\n    return (err * err).sum() / err.numel()")]),
    # --- ddpm_sample ---
    variant(DDPM, "posterior_mean", "the mean written as the posterior mean of Ho et al.'s eq. 7 with the predicted x0",
            edits=[(_MEAN, "        x0_hat = (x - math.sqrt(1 - ab_t) * eps) / math.sqrt(ab_t)\n"
                           "        mean = (math.sqrt(ab_prev) * beta / (1 - ab_t)) * x0_hat + "
                           "(math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab_t)) * x")]),
    variant(DDPM, "tensor_coefficients", "coefficients as tensors in x's dtype, pairs of steps zipped", code='''@torch.no_grad()
def ddpm_sample(model, x_T, alpha_bars, num_steps=None, g=None, variance="beta"):
    T = len(alpha_bars)
    steps = respaced_timesteps(T, T if num_steps is None else num_steps).tolist()
    ab = alpha_bars.to(x_T.dtype)
    one = torch.ones((), dtype=x_T.dtype)
    x = x_T
    for k, (tau, prev) in enumerate(reversed(list(zip(steps, [None] + steps[:-1])))):
        a_t = ab[tau]
        a_prev = ab[prev] if prev is not None else one
        alpha = a_t / a_prev
        beta = 1 - alpha
        eps = model(x, torch.full((len(x),), tau, dtype=torch.long))
        x = (x - beta / torch.sqrt(1 - a_t) * eps) / torch.sqrt(alpha)
        if prev is not None:
            sigma2 = beta * (1 - a_prev) / (1 - a_t) if variance == "posterior" else beta
            x = x + torch.sqrt(sigma2) * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return x
'''),
    variant(DDPM, "while_loop", "a while loop over the indices",
            edits=[("    for i in range(len(steps) - 1, -1, -1):", "    i = len(steps)\n    while i > 0:\n        i -= 1")]),
    # --- ddim_sample ---
    variant(DDIM, "eps_form", "the step written with the coefficients of x and eps gathered",
            edits=[(_STEP, "        c_eps = math.sqrt(1 - ab_prev - sigma**2) - math.sqrt(ab_prev * (1 - ab_t) / ab_t)\n"
                           "        x = math.sqrt(ab_prev / ab_t) * x + c_eps * eps")]),
    variant(DDIM, "eta_branch", "branches on eta == 0 and computes sigma from beta-tilde",
            edits=[(_SIG, "        sigma = 0.0 if eta == 0 else eta * math.sqrt((1 - ab_prev) / (1 - ab_t) * (1 - ab_t / ab_prev))"),
                   (_DRAW, "        if eta != 0 and i > 0:\n"
                           "            x = x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype)")]),
    variant(DDIM, "tensor_schedule", "alpha_bar as tensors, torch.sqrt", code='''@torch.no_grad()
def ddim_sample(model, x_T, alpha_bars, num_steps, eta=0.0, g=None):
    ab = alpha_bars.to(x_T.dtype)
    taus = respaced_timesteps(len(ab), num_steps).tolist()
    x = x_T
    for i in reversed(range(len(taus))):
        a = ab[taus[i]]
        a_prev = ab[taus[i - 1]] if i else torch.ones((), dtype=x.dtype)
        e = model(x, torch.full((x.shape[0],), taus[i], dtype=torch.long))
        x0 = (x - torch.sqrt(1 - a) * e) / torch.sqrt(a)
        var = eta**2 * (1 - a_prev) / (1 - a) * (1 - a / a_prev)
        x = torch.sqrt(a_prev) * x0 + torch.sqrt(1 - a_prev - var) * e
        if eta > 0 and i > 0:
            x = x + torch.sqrt(var) * torch.randn(x.shape, generator=g, dtype=x.dtype)
    return x
'''),
    # --- train_ddpm ---
    variant(TRAIN, "zero_grad_after", "clears the gradients after the step, set_to_none",
            edits=[("        opt.zero_grad()\n        loss.backward()\n        opt.step()\n",
                    "        loss.backward()\n        opt.step()\n        opt.zero_grad(set_to_none=True)\n")]),
    variant(TRAIN, "float_list", "float(loss), param list, explicit betas",
            edits=[(_OPT, "    opt = torch.optim.Adam(list(model.parameters()), lr=lr, betas=(0.9, 0.999))"),
                   ("        losses.append(loss.item())", "        losses.append(float(loss))")]),
    variant(TRAIN, "model_zero_grad", "model.zero_grad() before the forward pass",
            edits=[(_BATCH + "\n        loss = loss_fn(model, x0, g)\n        opt.zero_grad()\n",
                    "        model.zero_grad()\n" + _BATCH + "\n        loss = loss_fn(model, x0, g)\n")]),
]
