"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/authoring/variants.py."""
from autograder.authoring.variants import mutant, variant

COUP, SCALE, FLOW, TRAIN = "AdditiveCoupling", "Scaling", "NICE", "train_nice"

_SHIFT = "        shift = self.net(x * keep) * (1 - keep)"
_APPLY = "        y = x - shift if reverse else x + shift"
_FWD_S = "        return x * torch.exp(s), s.sum().repeat(x.shape[0])"
_REV_S = "            return x * torch.exp(-s), (-s.sum()).repeat(x.shape[0])"
_PRIOR_G = "            return (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum(-1)"
_PRIOR_L = "        return -(F.softplus(z) + F.softplus(-z)).sum(-1)"
_INV = "        x, _ = self.scaling(z, reverse=True)\n        for layer in reversed(self.couplings):\n            x, _ = layer(x, reverse=True)\n        return x"
_LOOP_LOSS = "        loss = -model.log_prob(x).mean()"

MUTANTS = [
    # --- AdditiveCoupling ---
    mutant(COUP, "inverse_adds", "the inverse adds the shift again instead of subtracting it",
           edits=[(_APPLY, "        y = x + shift")]),
    mutant(COUP, "inverse_wrong_half", "the inverse feeds the network the half that was shifted",
           edits=[(_SHIFT, "        shift = self.net(x * (1 - keep) if reverse else x * keep) * (1 - keep)")]),
    mutant(COUP, "shifts_kept_half", "adds the shift to the coordinates that should pass unchanged",
           edits=[(_SHIFT, "        shift = self.net(x * keep) * keep")]),
    mutant(COUP, "unmasked_input", "the network sees all of x, so the inverse is no longer exact",
           edits=[(_SHIFT, "        shift = self.net(x) * (1 - keep)")]),
    mutant(COUP, "mask_inverted", "stores the complement of the mask",
           edits=[('        self.register_buffer("mask", mask.bool())', '        self.register_buffer("mask", ~mask.bool())')]),
    mutant(COUP, "iterative_inverse", "inverts by fixed-point iteration: right numbers, many network calls",
           edits=[(_SHIFT + "\n" + _APPLY,
                   "        if reverse:\n"
                   "            y = x.clone()\n"
                   "            for _ in range(30):\n"
                   "                y = x - self.net(y * keep) * (1 - keep)\n"
                   "        else:\n"
                   "            y = x + self.net(x * keep) * (1 - keep)")]),
    mutant(COUP, "scalar_log_det", "returns a single 0 instead of one log-determinant per sample",
           edits=[("        return y, x.new_zeros(x.shape[0])", "        return y, x.new_zeros(())")]),
    # --- Scaling ---
    mutant(SCALE, "log_det_exp", "log-determinant sum(exp(s)) instead of sum(s)",
           edits=[(_FWD_S, "        return x * torch.exp(s), torch.exp(s).sum().repeat(x.shape[0])")]),
    mutant(SCALE, "log_det_sign", "the forward log-determinant with the wrong sign",
           edits=[(_FWD_S, "        return x * torch.exp(s), (-s.sum()).repeat(x.shape[0])")]),
    mutant(SCALE, "inverse_log_det_not_negated", "the inverse reports the forward log-determinant",
           edits=[(_REV_S, "            return x * torch.exp(-s), s.sum().repeat(x.shape[0])")]),
    mutant(SCALE, "inverse_multiplies", "the inverse multiplies by exp(s) again",
           edits=[(_REV_S, "            return x * torch.exp(s), (-s.sum()).repeat(x.shape[0])")]),
    mutant(SCALE, "scale_by_s", "multiplies by s instead of exp(s)",
           edits=[(_FWD_S, "        return x * s, s.sum().repeat(x.shape[0])")]),
    mutant(SCALE, "init_ones", "initialises log_scale to ones",
           edits=[("        self.log_scale = nn.Parameter(torch.zeros(dim))", "        self.log_scale = nn.Parameter(torch.ones(dim))")]),
    mutant(SCALE, "log_det_mean", "averages s instead of summing it",
           edits=[(_FWD_S, "        return x * torch.exp(s), s.mean().repeat(x.shape[0])")]),
    # --- NICE ---
    mutant(FLOW, "masks_not_alternating", "every coupling keeps the same coordinates",
           edits=[("AdditiveCoupling(torch.arange(dim) % 2 == i % 2, hidden)", "AdditiveCoupling(torch.arange(dim) % 2 == 0, hidden)")]),
    mutant(FLOW, "log_det_sign", "subtracts the layers' log-determinants",
           edits=[("        return z, log_det + ld", "        return z, log_det - ld")]),
    mutant(FLOW, "scaling_left_out", "leaves the scaling layer's log-determinant out of the log-likelihood",
           edits=[("        return z, log_det + ld", "        return z, log_det")]),
    mutant(FLOW, "gaussian_no_constant", "the Gaussian prior without its -log(2 pi)/2 per coordinate",
           edits=[(_PRIOR_G, "            return (-0.5 * z**2).sum(-1)")]),
    mutant(FLOW, "logistic_wrong_sign", "the logistic log-density with the wrong sign",
           edits=[(_PRIOR_L, "        return (F.softplus(z) + F.softplus(-z)).sum(-1)")]),
    mutant(FLOW, "inverse_same_order", "the inverse runs the couplings in their forward order",
           edits=[("        for layer in reversed(self.couplings):\n            x, _ = layer(x, reverse=True)",
                   "        for layer in self.couplings:\n            x, _ = layer(x, reverse=True)")]),
    mutant(FLOW, "inverse_scaling_last", "the inverse undoes the scaling after the couplings",
           edits=[(_INV, "        x = z\n        for layer in reversed(self.couplings):\n            x, _ = layer(x, reverse=True)\n"
                         "        x, _ = self.scaling(x, reverse=True)\n        return x")]),
    mutant(FLOW, "logistic_unstable", "the logistic prior as -z - 2 log(1 + exp(-z)): overflows far from 0",
           edits=[(_PRIOR_L, "        return (-z - 2 * torch.log(1 + torch.exp(-z))).sum(-1)")]),
    # --- train_nice ---
    mutant(TRAIN, "maximises_nll", "minimises the log-likelihood instead of maximising it",
           edits=[(_LOOP_LOSS, "        loss = model.log_prob(x).mean()")]),
    mutant(TRAIN, "no_zero_grad", "never clears the gradients",
           edits=[("        opt.zero_grad()\n", "")]),
    mutant(TRAIN, "summed", "sums the negative log-likelihood over the batch",
           edits=[(_LOOP_LOSS, "        loss = -model.log_prob(x).sum()")]),
    mutant(TRAIN, "global_generator", "draws the batches from the global generator, not generator(seed)",
           edits=[("        x = sample_moons(batch_size, g)", "        x = sample_moons(batch_size)")]),
    mutant(TRAIN, "tensor_losses", "returns the loss tensors instead of Python floats",
           edits=[("        losses.append(loss.item())", "        losses.append(loss.detach())")]),
    mutant(TRAIN, "no_step", "never takes the optimiser's step",
           edits=[("        opt.step()\n", "")]),
]

VARIANTS = [
    # --- AdditiveCoupling ---
    variant(COUP, "where", "torch.where on the bool mask",
            edits=[(_SHIFT + "\n" + _APPLY,
                    "        shift = self.net(torch.where(self.mask, x, torch.zeros_like(x)))\n"
                    "        y = torch.where(self.mask, x, x - shift if reverse else x + shift)")]),
    variant(COUP, "signed", "one formula with a sign",
            edits=[(_APPLY, "        sign = -1.0 if reverse else 1.0\n        y = x + sign * shift"),
                   ("        return y, x.new_zeros(x.shape[0])", "        return y, torch.zeros(len(x), dtype=x.dtype)")]),
    variant(COUP, "masked_fill", "masked_fill to zero the shifted half",
            edits=[(_SHIFT, "        shift = self.net(x.masked_fill(~self.mask, 0)).masked_fill(self.mask, 0)")]),
    # --- Scaling ---
    variant(SCALE, "divide", "divides by exp(-s); log_det through ones",
            edits=[(_FWD_S, "        return x / torch.exp(-s), s.sum() * x.new_ones(x.shape[0])")]),
    variant(SCALE, "branchless", "one code path with a sign",
            code='''class Scaling(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(dim))

    def forward(self, x, reverse=False):
        s = (-1 if reverse else 1) * self.log_scale.to(x.dtype)
        return x * s.exp(), s.sum().repeat(x.shape[0])
'''),
    variant(SCALE, "log_of_exp", "log-determinant as the log of the product of the scales",
            edits=[(_FWD_S, "        return x * torch.exp(s), torch.log(torch.prod(torch.exp(s))).repeat(x.shape[0])")]),
    # --- NICE ---
    variant(FLOW, "normal_distribution", "torch.distributions for the Gaussian prior",
            edits=[(_PRIOR_G, "            return torch.distributions.Normal(z.new_zeros(()), z.new_ones(())).log_prob(z).sum(-1)")]),
    variant(FLOW, "logistic_other_form", "logistic prior as -z - 2 softplus(-z)",
            edits=[(_PRIOR_L, "        return (-z - 2 * F.softplus(-z)).sum(-1)")]),
    variant(FLOW, "sliced_inverse", "a list of layers walked backwards by slicing; log_det summed at the end",
            edits=[("        log_det = x.new_zeros(x.shape[0])\n        for layer in self.couplings:\n            x, ld = layer(x)\n            log_det = log_det + ld\n        z, ld = self.scaling(x)\n        return z, log_det + ld",
                    "        parts = []\n        for layer in list(self.couplings) + [self.scaling]:\n            x, ld = layer(x)\n            parts.append(ld)\n        return x, torch.stack(parts).sum(0)"),
                   ("        for layer in reversed(self.couplings):\n            x, _ = layer(x, reverse=True)\n        return x",
                    "        for layer in list(self.couplings)[::-1]:\n            x = layer(x, reverse=True)[0]\n        return x")]),
    # --- train_nice ---
    variant(TRAIN, "zero_grad_after", "clears the gradients after the step, set_to_none",
            edits=[("        opt.zero_grad()\n        loss.backward()\n        opt.step()\n",
                    "        loss.backward()\n        opt.step()\n        opt.zero_grad(set_to_none=True)\n")]),
    variant(TRAIN, "sum_over_n", "the sum divided by the batch size; float(loss)",
            edits=[(_LOOP_LOSS, "        loss = -model.log_prob(x).sum() / batch_size"),
                   ("        losses.append(loss.item())", "        losses.append(float(loss))")]),
    variant(TRAIN, "param_list", "Adam on a list of the parameters, losses collected detached",
            edits=[("        opt = torch.optim.Adam(model.parameters(), lr=lr)".replace("        ", "    "),
                    "    opt = torch.optim.Adam(list(model.parameters()), lr=lr, betas=(0.9, 0.999))"),
                   (_LOOP_LOSS, "        nll = model.log_prob(x).neg()\n        loss = nll.mean()")]),
]
