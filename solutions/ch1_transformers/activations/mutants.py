"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/variants.py."""
from autograder.authoring.variants import mutant, variant

GELU, SILU, SWIGLU = "gelu", "silu", "swiglu"

EXACT = "return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))"

MUTANTS = [
    # --- gelu ---
    mutant(GELU, "erf_not_scaled", "forgets to divide the erf argument by sqrt(2)",
           edits=[("torch.erf(x / math.sqrt(2.0))", "torch.erf(x)")]),
    mutant(GELU, "erf_over_2", "divides the erf argument by 2 instead of sqrt(2)",
           edits=[("torch.erf(x / math.sqrt(2.0))", "torch.erf(x / 2.0)")]),
    mutant(GELU, "no_sqrt_in_constant", "uses 2/pi instead of sqrt(2/pi) in the tanh form",
           edits=[("math.sqrt(2.0 / math.pi)", "(2.0 / math.pi)")]),
    mutant(GELU, "cubic_constant_typo", "misremembers 0.044715 as 0.04475",
           edits=[("0.044715", "0.04475")]),
    mutant(GELU, "square_not_cube", "x**2 instead of x**3 in the tanh form",
           edits=[("x ** 3", "x ** 2")]),
    mutant(GELU, "ignores_approximate", "always computes the exact form",
           edits=[("if approximate == \"none\":\n        " + EXACT, EXACT)]),
    mutant(GELU, "sigmoid_approximation", "uses the other approximation x*sigmoid(1.702x) for 'tanh'",
           edits=[("return 0.5 * x * (1.0 + torch.tanh(inner))", "return x * torch.sigmoid(1.702 * x)")]),
    mutant(GELU, "tanh_by_hand", "writes tanh with exp: inf/inf = NaN for large |x|",
           edits=[("torch.tanh(inner)", "(torch.exp(2 * inner) - 1) / (torch.exp(2 * inner) + 1)")]),
    mutant(GELU, "scipy_erf", "computes erf with scipy on a detached copy: values right, gradient wrong",
           edits=[(EXACT, "from scipy.special import erf\n"
                          "        return 0.5 * x * (1.0 + torch.as_tensor(erf(x.detach().numpy() / math.sqrt(2.0)), dtype=x.dtype))")]),
    mutant(GELU, "float32_erf", "computes erf in float32 whatever the input dtype",
           edits=[("torch.erf(x / math.sqrt(2.0))", "torch.erf(x.float() / math.sqrt(2.0))")]),
    mutant(GELU, "calls_library", "calls F.gelu instead of writing the formula",
           edits=[(EXACT, "return F.gelu(x)"),
                  ("return 0.5 * x * (1.0 + torch.tanh(inner))", "return F.gelu(x, approximate='tanh')")]),
    mutant(GELU, "no_validation", "treats any value of approximate other than 'tanh' as exact",
           edits=[("if approximate == \"none\":", "if approximate != \"tanh\":")]),
    # --- silu ---
    mutant(SILU, "sigmoid_only", "returns sigmoid(x), forgetting the factor x",
           edits=[("return x * torch.sigmoid(x)", "return torch.sigmoid(x)")]),
    mutant(SILU, "sign_slip", "x * sigmoid(-x)",
           edits=[("torch.sigmoid(x)", "torch.sigmoid(-x)")]),
    mutant(SILU, "gelu_constant", "x * sigmoid(1.702 x): the sigmoid approximation of GELU",
           edits=[("torch.sigmoid(x)", "torch.sigmoid(1.702 * x)")]),
    mutant(SILU, "tanh_without_half", "sigmoid(x) misremembered as (1 + tanh(x)) / 2 (that is sigmoid(2x))",
           edits=[("return x * torch.sigmoid(x)", "return x * (1 + torch.tanh(x)) / 2")]),
    mutant(SILU, "hardswish", "confuses SiLU with MobileNetV3's hard-swish",
           edits=[("return x * torch.sigmoid(x)", "return x * torch.clamp(x + 3, 0, 6) / 6")]),
    mutant(SILU, "exp_ratio_overflow", "x e^x / (1 + e^x): inf/inf = NaN for large x",
           edits=[("return x * torch.sigmoid(x)", "return x * torch.exp(x) / (1 + torch.exp(x))")]),
    mutant(SILU, "naive_division", "x / (1 + e^-x): right values, NaN gradient for very negative x",
           edits=[("return x * torch.sigmoid(x)", "return x / (1 + torch.exp(-x))")]),
    mutant(SILU, "where_two_branches", "stable branches chosen by torch.where: the untaken branch still back-propagates NaN",
           edits=[("return x * torch.sigmoid(x)",
                   "return torch.where(x >= 0, x / (1 + torch.exp(-x)), x * torch.exp(x) / (1 + torch.exp(x)))")]),
    mutant(SILU, "in_place", "multiplies the input in place (x *= sigmoid(x))",
           edits=[("return x * torch.sigmoid(x)", "return x.mul_(torch.sigmoid(x))")]),
    mutant(SILU, "float32_sigmoid", "computes the sigmoid in float32 whatever the input dtype",
           edits=[("torch.sigmoid(x)", "torch.sigmoid(x.float())")]),
    # --- SwiGLU ---
    mutant(SWIGLU, "gate_up_swapped", "puts silu on w3 (up) instead of w1 (gate)",
           edits=[("silu(self.w1(x)) * self.w3(x)", "silu(self.w3(x)) * self.w1(x)")]),
    mutant(SWIGLU, "no_down_projection", "forgets w2",
           edits=[("return self.w2(silu(self.w1(x)) * self.w3(x))", "return silu(self.w1(x)) * self.w3(x)")]),
    mutant(SWIGLU, "gelu_gate", "GELU instead of Swish in the gate (that is GEGLU)",
           edits=[("silu(self.w1(x))", "gelu(self.w1(x))")]),
    mutant(SWIGLU, "sigmoid_gate", "sigmoid gate: the original GLU of Dauphin et al.",
           edits=[("silu(self.w1(x))", "torch.sigmoid(self.w1(x))")]),
    mutant(SWIGLU, "with_bias", "keeps nn.Linear's default biases",
           edits=[("nn.Linear(d_model, hidden, bias=False)  # gate", "nn.Linear(d_model, hidden)  # gate"),
                  ("nn.Linear(d_model, hidden, bias=False)  # up", "nn.Linear(d_model, hidden)  # up"),
                  ("nn.Linear(hidden, d_model, bias=False)  # down", "nn.Linear(hidden, d_model)  # down")]),
    mutant(SWIGLU, "both_activated", "applies silu to both branches",
           edits=[("* self.w3(x)", "* silu(self.w3(x))")]),
    mutant(SWIGLU, "activation_after_product", "applies silu after the product",
           edits=[("self.w2(silu(self.w1(x)) * self.w3(x))", "self.w2(silu(self.w1(x) * self.w3(x)))")]),
    mutant(SWIGLU, "sum_not_product", "adds the branches instead of multiplying",
           edits=[("silu(self.w1(x)) * self.w3(x)", "silu(self.w1(x)) + self.w3(x)")]),
]

VARIANTS = [
    variant(GELU, "erfc_and_sigmoid", "erfc for the exact form, x*sigmoid(2u) for the tanh form",
            edits=[(EXACT, "return 0.5 * x * torch.special.erfc(-x / math.sqrt(2.0))"),
                   ("return 0.5 * x * (1.0 + torch.tanh(inner))", "return x * torch.sigmoid(2.0 * inner)")]),
    variant(GELU, "normal_cdf", "x * Normal(0, 1).cdf(x); Horner form of the cubic",
            edits=[(EXACT, "return x * torch.distributions.Normal(0.0, 1.0).cdf(x)"),
                   ("(x + 0.044715 * x ** 3)", "x * (1.0 + 0.044715 * x * x)")]),
    variant(GELU, "dict_dispatch", "precomputed constants, dispatch through a dict of lambdas",
            code='''def gelu(x, approximate="none"):
    forms = {
        "none": lambda t: t * 0.5 * (1.0 + torch.erf(t * (1.0 / math.sqrt(2.0)))),
        "tanh": lambda t: t * 0.5 * (1.0 + torch.tanh(0.7978845608028654 * (t + 0.044715 * t.pow(3)))),
    }
    if approximate not in forms:
        raise ValueError("approximate must be 'none' or 'tanh'")
    return forms[approximate](x)
'''),
    variant(SILU, "tanh_half", "sigmoid written as (1 + tanh(x/2)) / 2",
            edits=[("return x * torch.sigmoid(x)", "return x * 0.5 * (1.0 + torch.tanh(0.5 * x))")]),
    variant(SILU, "expit", "torch.special.expit",
            edits=[("torch.sigmoid(x)", "torch.special.expit(x)")]),
    variant(SILU, "softplus", "sigmoid(x) = exp(-softplus(-x))",
            edits=[("return x * torch.sigmoid(x)", "return x * torch.exp(-F.softplus(-x))")]),
    variant(SWIGLU, "functional_linear", "F.linear with the weights",
            edits=[("return self.w2(silu(self.w1(x)) * self.w3(x))",
                    "gate = silu(F.linear(x, self.w1.weight))\n"
                    "        return F.linear(gate * F.linear(x, self.w3.weight), self.w2.weight)")]),
    variant(SWIGLU, "matmul_inline_swish", "matmuls with transposed weights, Swish written inline",
            edits=[("return self.w2(silu(self.w1(x)) * self.w3(x))",
                    "g = x @ self.w1.weight.T\n"
                    "        h = g * torch.sigmoid(g) * (x @ self.w3.weight.T)\n"
                    "        return h @ self.w2.weight.T")]),
    variant(SWIGLU, "other_order", "layers created in another order, bias passed positionally",
            edits=[("self.w1 = nn.Linear(d_model, hidden, bias=False)  # gate\n"
                    "        self.w3 = nn.Linear(d_model, hidden, bias=False)  # up\n"
                    "        self.w2 = nn.Linear(hidden, d_model, bias=False)  # down",
                    "self.w2 = nn.Linear(hidden, d_model, False)\n"
                    "        self.w3 = nn.Linear(d_model, hidden, False)\n"
                    "        self.w1 = nn.Linear(d_model, hidden, False)"),
                   ("return self.w2(silu(self.w1(x)) * self.w3(x))",
                    "up = self.w3(x)\n        return self.w2(up * silu(self.w1(x)))")]),
]
