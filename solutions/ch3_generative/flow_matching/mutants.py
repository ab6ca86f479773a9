"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/authoring/variants.py."""
from autograder.authoring.variants import mutant, variant

INTERP, LOSS, EULER, PAIRS, STRAIGHT, TRAIN = (
    "interpolate", "fm_loss", "euler_sample", "reflow_pairs", "straightness", "train_flow")

_I_RET = "    return (1 - tt) * x0 + tt * noise, noise - x0"
_L_RET = "    return ((model(x_t, t) - target) ** 2).sum(dim=1).mean()"
_E_T = "            t = torch.full((x.shape[0],), 1 - i / steps, dtype=x.dtype)"
_E_STEP = "            x = x - h * model(x, t)"
_P_NOISE = "    noise = torch.randn(n, dim, generator=generator(seed))"
_P_X0 = "    x0 = euler_sample(model, noise, steps)"
_S_V = "    v = k * (traj[:-1] - traj[1:])"
_S_RET = "    return ((traj[0] - traj[-1] - v) ** 2).sum(dim=-1).mean()"
_T_T = "        t = torch.rand(batch_size, generator=g, dtype=data.dtype)\n        if noise is None:"
_T_DRAW_T = "            t = torch.rand(batch_size, generator=g, dtype=data.dtype)"
_T_EPS = "            eps = torch.randn(batch_size, data.shape[1], generator=g, dtype=data.dtype)"
_T_SCHED = "    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)"

MUTANTS = [
    # --- interpolate ---
    mutant(INTERP, "time_reversed", "Liu et al.'s direction: noise at t = 0, data at t = 1",
           edits=[(_I_RET, "    return tt * x0 + (1 - tt) * noise, x0 - noise")]),
    mutant(INTERP, "velocity_sign", "the velocity points from noise to data",
           edits=[(_I_RET, "    return (1 - tt) * x0 + tt * noise, x0 - noise")]),
    mutant(INTERP, "variance_preserving", "a DDPM-like path sqrt(1 - t^2) x0 + t noise with the straight path's velocity",
           edits=[(_I_RET, "    return torch.sqrt(1 - tt**2) * x0 + tt * noise, noise - x0")]),
    mutant(INTERP, "velocity_from_x_t", "the velocity recovered as (x_t - x0) / t: NaN at t = 0",
           edits=[(_I_RET, "    x_t = (1 - tt) * x0 + tt * noise\n    return x_t, (x_t - x0) / tt")]),
    mutant(INTERP, "t_in_float32", "casts t to float32: float64 inputs lose precision",
           edits=[("    tt = t[:, None]", "    tt = t[:, None].float()")]),
    mutant(INTERP, "velocity_detached", "detaches the velocity (no gradient to x0 and noise)",
           edits=[(_I_RET, "    return (1 - tt) * x0 + tt * noise, (noise - x0).detach()")]),
    mutant(INTERP, "velocity_noise_minus_x_t", "velocity noise - x_t, right only at t = 0",
           edits=[(_I_RET, "    x_t = (1 - tt) * x0 + tt * noise\n    return x_t, noise - x_t")]),
    # --- fm_loss ---
    mutant(LOSS, "target_sign", "regresses on x0 - noise",
           edits=[(_L_RET, "    return ((model(x_t, t) + target) ** 2).sum(dim=1).mean()")]),
    mutant(LOSS, "mean_over_coordinates", "F.mse_loss: the mean over the coordinates instead of their sum",
           edits=[(_L_RET, "    return torch.nn.functional.mse_loss(model(x_t, t), target)")]),
    mutant(LOSS, "model_on_x0", "feeds the model the data point instead of x_t",
           edits=[(_L_RET, "    return ((model(x0, t) - target) ** 2).sum(dim=1).mean()")]),
    mutant(LOSS, "time_flipped", "calls the model at 1 - t",
           edits=[(_L_RET, "    return ((model(x_t, 1 - t) - target) ** 2).sum(dim=1).mean()")]),
    mutant(LOSS, "predicts_noise", "regresses on the noise (epsilon-prediction) instead of the velocity",
           edits=[(_L_RET, "    return ((model(x_t, t) - noise) ** 2).sum(dim=1).mean()")]),
    mutant(LOSS, "prediction_detached", "computes the prediction without gradients",
           edits=[(_L_RET, "    with torch.no_grad():\n        pred = model(x_t, t)\n"
                           "    return ((pred - target) ** 2).sum(dim=1).mean()")]),
    mutant(LOSS, "two_calls", "calls the model twice (once to log the prediction): right value, twice the cost",
           edits=[(_L_RET, "    pred = model(x_t, t).detach()\n    err = model(x_t, t) - target\n"
                           "    return (err ** 2).sum(dim=1).mean()")]),
    mutant(LOSS, "summed_over_batch", "sums over the batch instead of averaging",
           edits=[(_L_RET, "    return ((model(x_t, t) - target) ** 2).sum()")]),
    # --- euler_sample ---
    mutant(EULER, "time_reversed", "integrates from t = 0 upwards",
           edits=[(_E_T, "            t = torch.full((x.shape[0],), i / steps, dtype=x.dtype)")]),
    mutant(EULER, "step_sign", "steps along +velocity although time runs backwards",
           edits=[(_E_STEP, "            x = x + h * model(x, t)")]),
    mutant(EULER, "time_off_by_one", "evaluates step i at the end of its interval, t = 1 - (i + 1) / steps",
           edits=[(_E_T, "            t = torch.full((x.shape[0],), 1 - (i + 1) / steps, dtype=x.dtype)")]),
    mutant(EULER, "extra_call", "evaluates the model on all steps + 1 grid points and drops the last: right samples, k + 1 calls",
           code='''def euler_sample(model, noise, steps, trajectory=False):
    ts = torch.linspace(1, 0, steps + 1, dtype=noise.dtype)
    x = noise
    states = [x]
    with torch.no_grad():
        vs = []
        for i in range(steps + 1):
            vs.append(model(x, ts[i].repeat(x.shape[0])))
            if i < steps:
                x = x - vs[-1] / steps
                states.append(x)
    return (x, torch.stack(states)) if trajectory else x
'''),
    mutant(EULER, "heun", "Heun's method (two calls per step): a better integrator, not the one asked for",
           edits=[(_E_STEP, "            d1 = model(x, t)\n            d2 = model(x - h * d1, t - h)\n"
                            "            x = x - h * (d1 + d2) / 2")]),
    mutant(EULER, "one_time_for_all", "passes t of shape (1,), one time for the whole batch",
           edits=[(_E_T, "            t = torch.full((1,), 1 - i / steps, dtype=x.dtype)")]),
    mutant(EULER, "with_gradients", "forgets torch.no_grad(): right numbers, the whole graph kept in memory",
           edits=[("    with torch.no_grad():\n        for i in range(steps):\n"
                   "            t = torch.full((x.shape[0],), 1 - i / steps, dtype=x.dtype)\n"
                   "            x = x - h * model(x, t)\n            states.append(x)",
                   "    for i in range(steps):\n        t = torch.full((x.shape[0],), 1 - i / steps, dtype=x.dtype)\n"
                   "        x = x - h * model(x, t)\n        states.append(x)")]),
    mutant(EULER, "trajectory_without_start", "the trajectory leaves out the noise",
           edits=[("        return x, torch.stack(states)", "        return x, torch.stack(states[1:] + [x])")]),
    # --- reflow_pairs ---
    mutant(PAIRS, "independent_noise", "integrates fresh noise: the pairs are independent, not the ODE's coupling",
           edits=[(_P_X0, "    x0 = euler_sample(model, torch.randn(n, dim), steps)")]),
    mutant(PAIRS, "shuffled", "shuffles the samples (same marginals, independent coupling)",
           edits=[(_P_X0, "    x0 = euler_sample(model, noise, steps)[torch.randperm(n)]")]),
    mutant(PAIRS, "swapped", "returns (noise, x0)",
           edits=[("    return x0, noise", "    return noise, x0")]),
    mutant(PAIRS, "global_generator", "draws the noise from the global generator",
           edits=[(_P_NOISE, "    noise = torch.randn(n, dim)")]),
    mutant(PAIRS, "one_step", "builds the pairs with a single Euler step",
           edits=[(_P_X0, "    x0 = euler_sample(model, noise, 1)")]),
    mutant(PAIRS, "per_sample", "integrates one noise draw at a time: right pairs, n times the calls",
           edits=[(_P_X0, "    x0 = torch.cat([euler_sample(model, noise[i:i + 1], steps) for i in range(n)])")]),
    mutant(PAIRS, "sorted", "sorts the samples along the first coordinate",
           edits=[(_P_X0, "    x0 = euler_sample(model, noise, steps)\n    x0 = x0[x0[:, 0].argsort()]")]),
    # --- straightness ---
    mutant(STRAIGHT, "sum_over_steps", "sums over the steps instead of averaging (no dt)",
           edits=[(_S_RET, "    return ((traj[0] - traj[-1] - v) ** 2).sum(dim=-1).mean(dim=1).sum()")]),
    mutant(STRAIGHT, "no_step_scale", "the velocity as traj[i] - traj[i+1], without dividing by h",
           edits=[(_S_V, "    v = traj[:-1] - traj[1:]")]),
    mutant(STRAIGHT, "displacement_sign", "the displacement traj[k] - traj[0] against velocities in the other direction",
           edits=[(_S_RET, "    return ((traj[-1] - traj[0] - v) ** 2).sum(dim=-1).mean()")]),
    mutant(STRAIGHT, "mean_over_coordinates", "averages over the coordinates instead of summing",
           edits=[(_S_RET, "    return ((traj[0] - traj[-1] - v) ** 2).mean()")]),
    mutant(STRAIGHT, "norm_not_squared", "the norm instead of the squared norm",
           edits=[(_S_RET, "    return (traj[0] - traj[-1] - v).norm(dim=-1).mean()")]),
    mutant(STRAIGHT, "mean_inside_norm", "averages over the paths before squaring",
           edits=[(_S_RET, "    return ((traj[0] - traj[-1] - v).mean(dim=1) ** 2).sum(dim=-1).mean()")]),
    mutant(STRAIGHT, "last_step_dropped", "leaves out the last step",
           edits=[(_S_RET, "    return ((traj[0] - traj[-1] - v[:-1]) ** 2).sum(dim=-1).mean()")]),
    # --- train_flow ---
    mutant(TRAIN, "independent_pairs", "reflow: draws the noise rows independently of the data rows",
           edits=[("            eps = noise[idx]", "            eps = noise[torch.randint(len(noise), (batch_size,), generator=g)]")]),
    mutant(TRAIN, "one_time_per_batch", "one t for the whole batch",
           edits=[(_T_T, "        t = torch.rand(1, generator=g, dtype=data.dtype).expand(batch_size)\n        if noise is None:")]),
    mutant(TRAIN, "no_decay", "a constant learning rate",
           edits=[(_T_SCHED, "    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0)")]),
    mutant(TRAIN, "noise_before_t", "draws the noise before the times",
           edits=[(_T_T, "        if noise is None:"),
                  (_T_EPS, _T_EPS + "\n" + _T_DRAW_T),
                  ("            eps = noise[idx]", "            eps = noise[idx]\n" + _T_DRAW_T)]),
    mutant(TRAIN, "no_zero_grad", "never clears the gradients",
           edits=[("        opt.zero_grad()\n", "")]),
    mutant(TRAIN, "ignores_loss_fn", "always uses fm_loss",
           edits=[("    loss_fn = fm_loss if loss_fn is None else loss_fn\n", "    loss_fn = fm_loss\n")]),
    mutant(TRAIN, "global_generator", "draws the batches from the global generator",
           edits=[("    for _ in range(steps):\n        idx = torch.randint(len(data), (batch_size,), generator=g)",
                   "    for _ in range(steps):\n        idx = torch.randint(len(data), (batch_size,))")]),
    mutant(TRAIN, "schedule_early", "steps the schedule before the optimizer: every step uses the next step's rate",
           edits=[("        opt.step()\n        schedule.step()\n", "        schedule.step()\n        opt.step()\n")]),
]

VARIANTS = [
    # --- interpolate ---
    variant(INTERP, "lerp", "torch.lerp and a reshaped t",
            edits=[("    tt = t[:, None]", "    tt = t.reshape(-1, 1)"),
                   (_I_RET, "    return torch.lerp(x0, noise, tt), noise - x0")]),
    variant(INTERP, "unsqueeze", "x0 + t (noise - x0), t unsqueezed",
            edits=[("    tt = t[:, None]", "    tt = t.unsqueeze(-1)"),
                   (_I_RET, "    v = noise - x0\n    return x0 + tt * v, v")]),
    variant(INTERP, "einsum", "the time factors with einsum",
            edits=[(_I_RET, "    return torch.einsum('n,nd->nd', 1 - t, x0) + torch.einsum('n,nd->nd', t, noise), -(x0 - noise)")]),
    # --- fm_loss ---
    variant(LOSS, "mse_sum", "F.mse_loss with reduction='sum' divided by the batch size",
            edits=[(_L_RET, "    return torch.nn.functional.mse_loss(model(x_t, t), target, reduction='sum') / x0.shape[0]")]),
    variant(LOSS, "vector_norm", "the squared vector norm",
            edits=[(_L_RET, "    return torch.linalg.vector_norm(model(x_t, t) - target, dim=-1).pow(2).mean()")]),
    variant(LOSS, "einsum", "the squared error by einsum, target detached",
            edits=[(_L_RET, "    err = model(x_t, t) - target.detach()\n    return torch.einsum('nd,nd->n', err, err).mean()")]),
    # --- euler_sample ---
    variant(EULER, "linspace", "a linspace time grid and a preallocated trajectory",
            code='''@torch.no_grad()
def euler_sample(model, noise, steps, trajectory=False):
    ts = torch.linspace(1, 0, steps + 1, dtype=torch.float64)
    traj = torch.empty(steps + 1, *noise.shape, dtype=noise.dtype)
    traj[0] = noise
    x = noise.clone()
    for i in range(steps):
        dt = float(ts[i] - ts[i + 1])
        x = x - dt * model(x, ts[i].to(noise.dtype).repeat(len(x)))
        traj[i + 1] = x
    return (x, traj) if trajectory else x
'''),
    variant(EULER, "while_loop", "a while loop over a float time, in-place update of a copy",
            code='''def euler_sample(model, noise, steps, trajectory=False):
    x = noise.clone()
    traj = [noise.clone()]
    i = 0
    with torch.no_grad():
        while i < steps:
            t = (1 - i / steps) * torch.ones(x.shape[0], dtype=x.dtype)
            x -= model(x, t) / steps
            traj.append(x.clone())
            i += 1
    if not trajectory:
        return x
    return x, torch.stack(traj, dim=0)
'''),
    variant(EULER, "grad_disabled", "torch.set_grad_enabled(False) and new_full",
            edits=[("    with torch.no_grad():", "    with torch.set_grad_enabled(False):"),
                   (_E_T, "            t = x.new_full((len(x),), 1 - i / steps)")]),
    # --- reflow_pairs ---
    variant(PAIRS, "trajectory_end", "the last state of the returned trajectory, under no_grad",
            edits=[(_P_X0, "    with torch.no_grad():\n        _, traj = euler_sample(model, noise, steps, trajectory=True)\n    x0 = traj[-1]")]),
    variant(PAIRS, "own_loop", "its own Euler loop instead of euler_sample",
            edits=[(_P_X0, "    x0 = noise\n    with torch.no_grad():\n        for i in range(steps):\n"
                           "            x0 = x0 - model(x0, torch.full((n,), 1 - i / steps)) / steps")]),
    variant(PAIRS, "tuple_shape", "the noise drawn with a size tuple from a named generator",
            edits=[(_P_NOISE, "    g = generator(seed)\n    noise = torch.randn((n, dim), generator=g)")]),
    # --- straightness ---
    variant(STRAIGHT, "variance", "the mean squared speed minus the squared mean velocity (the same for Euler paths)",
            code='''def straightness(traj):
    k = traj.shape[0] - 1
    v = k * (traj[:-1] - traj[1:])
    chord = traj[0] - traj[-1]
    return (v.pow(2).sum(-1).mean(0) - chord.pow(2).sum(-1)).mean()
'''),
    variant(STRAIGHT, "diff", "torch.diff along the time axis",
            edits=[(_S_V, "    v = -torch.diff(traj, dim=0) * k")]),
    variant(STRAIGHT, "loop", "a loop over the steps",
            code='''def straightness(traj):
    k = len(traj) - 1
    chord = traj[0] - traj[k]
    total = 0
    for i in range(k):
        v = (traj[i] - traj[i + 1]) * k
        total = total + ((chord - v) ** 2).sum(-1).mean()
    return total / k
'''),
    # --- train_flow ---
    variant(TRAIN, "manual_lr", "sets the learning rate by hand each step; zero_grad(set_to_none) after the step",
            edits=[(_T_SCHED + "\n", ""),
                   ("        opt.zero_grad()\n        loss.backward()\n        opt.step()\n        schedule.step()\n",
                    "        for group in opt.param_groups:\n            group['lr'] = lr * (1 - len(losses) / steps)\n"
                    "        loss.backward()\n        opt.step()\n        opt.zero_grad(set_to_none=True)\n")]),
    variant(TRAIN, "linear_lr", "LinearLR to zero, float(loss)",
            edits=[(_T_SCHED, "    schedule = torch.optim.lr_scheduler.LinearLR(opt, 1.0, 0.0, total_iters=steps)"),
                   ("        losses.append(loss.item())", "        losses.append(float(loss))")]),
    variant(TRAIN, "branch_first", "picks the noise source before the loop, batches by index_select",
            code='''def train_flow(model, data, steps, batch_size=256, lr=1e-3, seed=0, noise=None, loss_fn=None):
    if loss_fn is None:
        loss_fn = fm_loss
    paired = noise is not None
    g = generator(seed)
    opt = torch.optim.Adam(list(model.parameters()), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda step: (steps - step) / steps)
    out = []
    for step in range(steps):
        idx = torch.randint(0, data.shape[0], (batch_size,), generator=g)
        x0 = data.index_select(0, idx)
        t = torch.rand((batch_size,), generator=g, dtype=data.dtype)
        eps = noise.index_select(0, idx) if paired else torch.randn(x0.shape, generator=g, dtype=data.dtype)
        loss = loss_fn(model, x0, eps, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        out.append(loss.item())
    return out
'''),
]
