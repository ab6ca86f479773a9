"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/variants.py."""
from autograder.authoring.variants import mutant, variant

SIN, ROPE, HALF = "sinusoidal_encoding", "apply_rope", "apply_rope_rotate_half"

# Lines of the reference solutions that several edits refer to.
_SIN_STACK = "pe = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-1)"
_SIN_OMEGA = "torch.arange(0, d_model, 2, dtype=torch.float64) / d_model"
_THETA = "torch.arange(0, d, 2, dtype=torch.float64, device=x.device) / d"
_POS_DEFAULT = "positions = torch.arange(x.shape[-2], device=x.device)"
_POS_F64 = "positions = torch.as_tensor(positions, dtype=torch.float64, device=x.device)"
_ROPE_TAIL = """    cos, sin = torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]          # the pairs (x[2i], x[2i+1])
    y1 = x1 * cos - x2 * sin
    y2 = x1 * sin + x2 * cos
    return torch.stack([y1, y2], dim=-1).flatten(-2)"""
_HALF_TAIL = """    angles = torch.cat([angles, angles], dim=-1)                                       # (..., L, d)
    cos, sin = torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)
    x_lo, x_hi = x[..., : d // 2], x[..., d // 2 :]
    rotated = torch.cat([-x_hi, x_lo], dim=-1)   # Hugging Face's rotate_half(x)
    return x * cos + rotated * sin"""

MUTANTS = [
    # --- sinusoidal_encoding ---
    mutant(SIN, "exponent_pair_index", "exponent i/d_model with the pair index i instead of 2i/d_model",
           edits=[(_SIN_OMEGA, "torch.arange(0, d_model // 2, dtype=torch.float64) / d_model")]),
    mutant(SIN, "exponent_over_half", "divides the exponent by d_model/2 instead of d_model",
           edits=[(_SIN_OMEGA, "torch.arange(0, d_model, 2, dtype=torch.float64) / (d_model // 2)")]),
    mutant(SIN, "positive_exponent", "forgets the minus sign: frequencies grow instead of shrinking",
           edits=[("base ** (-torch.arange", "base ** (torch.arange")]),
    mutant(SIN, "sin_cos_swapped", "cosine in the even columns, sine in the odd ones",
           edits=[(_SIN_STACK, "pe = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)")]),
    mutant(SIN, "positions_from_1", "numbers positions 1..L instead of 0..L-1",
           edits=[("torch.arange(n_positions, dtype=torch.float64)",
                   "torch.arange(1, n_positions + 1, dtype=torch.float64)")]),
    mutant(SIN, "halves_not_interleaved", "all sines in the first half, all cosines in the second (tensor2tensor layout)",
           edits=[(_SIN_STACK, "pe = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)")]),
    mutant(SIN, "frequency_per_column", "one frequency per column (b^(-j/d)) instead of one per (sin, cos) pair",
           edits=[(_SIN_OMEGA, "torch.arange(0, d_model, dtype=torch.float64) / d_model"),
                  (_SIN_STACK, "pe = torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angles), torch.cos(angles))")]),
    mutant(SIN, "base_ignored", "hard-codes 10000 instead of using the base argument",
           edits=[("omega = base ** (", "omega = 10000.0 ** (")]),
    mutant(SIN, "float32_inside", "computes in float32 whatever the requested dtype",
           edits=[("torch.arange(n_positions, dtype=torch.float64)", "torch.arange(n_positions, dtype=torch.float32)"),
                  (_SIN_OMEGA, "torch.arange(0, d_model, 2, dtype=torch.float32) / d_model")]),
    # --- apply_rope (interleaved) ---
    mutant(ROPE, "rotate_half_pairing", "pairs x[i] with x[i + d/2] (Hugging Face's layout) instead of (x[2i], x[2i+1])",
           edits=[("x1, x2 = x[..., 0::2], x[..., 1::2]", "x1, x2 = x[..., : d // 2], x[..., d // 2 :]"),
                  ("return torch.stack([y1, y2], dim=-1).flatten(-2)", "return torch.cat([y1, y2], dim=-1)")]),
    mutant(ROPE, "clockwise", "rotation sign flipped (rotates by -p theta_i)",
           edits=[("y1 = x1 * cos - x2 * sin", "y1 = x1 * cos + x2 * sin"),
                  ("y2 = x1 * sin + x2 * cos", "y2 = -x1 * sin + x2 * cos")]),
    mutant(ROPE, "exponent_pair_index", "theta_i = b^(-i/d) (pair index i instead of 2i)",
           edits=[(_THETA, "torch.arange(0, d // 2, dtype=torch.float64, device=x.device) / d")]),
    mutant(ROPE, "exponent_over_half", "theta_i = b^(-2i/(d/2))",
           edits=[(_THETA, "torch.arange(0, d, 2, dtype=torch.float64, device=x.device) / (d // 2)")]),
    mutant(ROPE, "positions_from_1", "default positions 1..L",
           edits=[(_POS_DEFAULT, "positions = torch.arange(1, x.shape[-2] + 1, device=x.device)")]),
    mutant(ROPE, "cos_sin_swapped", "swaps cos and sin",
           edits=[("cos, sin = torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)",
                   "cos, sin = torch.sin(angles).to(x.dtype), torch.cos(angles).to(x.dtype)")]),
    mutant(ROPE, "outer_positions", "torch.outer(positions, theta): only works for 1-D positions",
           edits=[("angles = positions[..., None] * theta", "angles = torch.outer(positions, theta)")]),
    mutant(ROPE, "angles_float32", "angles always in float32, even for float64 inputs",
           edits=[(_POS_F64, "positions = torch.as_tensor(positions, dtype=torch.float32, device=x.device)"),
                  (_THETA, "torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d")]),
    mutant(ROPE, "angles_in_input_dtype", "angles (positions times frequencies) in the dtype of x: for bfloat16 "
                                        "and float16 inputs they are off by radians at long positions",
           edits=[(_POS_F64, "positions = torch.as_tensor(positions, dtype=x.dtype, device=x.device)"),
                  (_THETA, "torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d")]),
    mutant(ROPE, "base_ignored", "hard-codes 10000 instead of using the base argument",
           edits=[("theta = base ** (", "theta = 10000.0 ** (")]),
    mutant(ROPE, "angles_not_per_pair", "full-width form with angles repeated per half (cat) instead of per pair",
           edits=[(_ROPE_TAIL, """    angles = torch.cat([angles, angles], dim=-1)
    cos, sin = torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)
    rotated = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).flatten(-2)
    return x * cos + rotated * sin""")]),
    # --- apply_rope_rotate_half ---
    mutant(HALF, "uses_interleaved", "believes both pairings are the same and calls apply_rope",
           code="def apply_rope_rotate_half(x, positions=None, base=10000.0):\n"
                "    return apply_rope(x, positions, base)\n"),
    mutant(HALF, "angles_interleaved", "repeats the angles next to each other (repeat_interleave) instead of once per half",
           edits=[("angles = torch.cat([angles, angles], dim=-1)", "angles = angles.repeat_interleave(2, dim=-1)")]),
    mutant(HALF, "clockwise", "rotate_half with the sign on the wrong half",
           edits=[("rotated = torch.cat([-x_hi, x_lo], dim=-1)", "rotated = torch.cat([x_hi, -x_lo], dim=-1)")]),
    mutant(HALF, "exponent_pair_index", "theta_i = b^(-i/d)",
           edits=[(_THETA, "torch.arange(0, d // 2, dtype=torch.float64, device=x.device) / d")]),
    mutant(HALF, "positions_from_1", "default positions 1..L",
           edits=[(_POS_DEFAULT, "positions = torch.arange(1, x.shape[-2] + 1, device=x.device)")]),
    mutant(HALF, "frequency_per_dimension", "one frequency per dimension b^(-j/d), j = 0..d-1, instead of per pair",
           edits=[(_THETA, "torch.arange(0, d, dtype=torch.float64, device=x.device) / d"),
                  ("angles = torch.cat([angles, angles], dim=-1)", "angles = angles * 1")]),
    mutant(HALF, "angles_float32", "angles always in float32, even for float64 inputs",
           edits=[(_POS_F64, "positions = torch.as_tensor(positions, dtype=torch.float32, device=x.device)"),
                  (_THETA, "torch.arange(0, d, 2, dtype=torch.float32, device=x.device) / d")]),
    mutant(HALF, "angles_in_input_dtype", "angles (positions times frequencies) in the dtype of x: for bfloat16 "
                                        "and float16 inputs they are off by radians at long positions",
           edits=[(_POS_F64, "positions = torch.as_tensor(positions, dtype=x.dtype, device=x.device)"),
                  (_THETA, "torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d")]),
    mutant(HALF, "base_ignored", "hard-codes 10000 instead of using the base argument",
           edits=[("theta = base ** (", "theta = 10000.0 ** (")]),
    mutant(HALF, "outer_positions", "torch.outer(positions, theta): only works for 1-D positions",
           edits=[("angles = positions[..., None] * theta", "angles = torch.outer(positions, theta)")]),
]

VARIANTS = [
    # --- sinusoidal_encoding ---
    variant(SIN, "exp_log", "frequencies as exp(-2i log(b) / d), as in the Annotated Transformer",
            edits=[(f"base ** (-{_SIN_OMEGA})",
                    "torch.exp(-math.log(base) * torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)")]),
    variant(SIN, "slice_assign", "fills even and odd columns of a zero tensor",
            edits=[(_SIN_STACK + "                # (L, d_model/2, 2)\n"
                    "    return pe.reshape(n_positions, d_model).to(dtype)",
                    "pe = torch.zeros(n_positions, d_model, dtype=torch.float64)\n"
                    "    pe[:, 0::2] = torch.sin(angles)\n"
                    "    pe[:, 1::2] = torch.cos(angles)\n"
                    "    return pe.to(dtype)")]),
    variant(SIN, "numpy_divide", "numpy, position divided by b^(2i/d)",
            code="import numpy as np\n\n"
                 "def sinusoidal_encoding(n_positions, d_model, base=10000.0, dtype=torch.float32):\n"
                 "    p = np.arange(n_positions)[:, None]\n"
                 "    two_i = np.arange(0, d_model, 2)[None, :]\n"
                 "    angle = p / np.power(base, two_i / d_model)\n"
                 "    out = np.empty((n_positions, d_model))\n"
                 "    out[:, ::2], out[:, 1::2] = np.sin(angle), np.cos(angle)\n"
                 "    return torch.from_numpy(out).to(dtype)\n"),
    variant(SIN, "in_requested_dtype", "computes directly in the requested dtype (float32 for float32)",
            edits=[("torch.arange(n_positions, dtype=torch.float64)", "torch.arange(n_positions, dtype=dtype)"),
                   (_SIN_OMEGA, "torch.arange(0, d_model, 2, dtype=dtype) / d_model")]),
    # --- apply_rope ---
    variant(ROPE, "complex_llama", "complex multiplication as in Meta's LLaMA code, in complex128",
            edits=[(_ROPE_TAIL, """    xc = torch.view_as_complex(x.double().reshape(*x.shape[:-1], d // 2, 2))
    out = torch.view_as_real(xc * torch.polar(torch.ones_like(angles), angles)).flatten(-2)
    return out.to(x.dtype)""")]),
    variant(ROPE, "rotation_matrices", "explicit 2x2 rotation matrices applied with einsum",
            edits=[(_ROPE_TAIL, """    c, s = torch.cos(angles), torch.sin(angles)
    R = torch.stack([torch.stack([c, -s], dim=-1), torch.stack([s, c], dim=-1)], dim=-2).to(x.dtype)
    pairs = x.unflatten(-1, (d // 2, 2))
    return torch.einsum('...ij,...j->...i', R, pairs).flatten(-2)""")]),
    variant(ROPE, "gptj_full_width", "GPT-J style: x * cos + rotate_every_two(x) * sin with repeat_interleave",
            edits=[(_ROPE_TAIL, """    cos = torch.cos(angles).repeat_interleave(2, dim=-1).to(x.dtype)
    sin = torch.sin(angles).repeat_interleave(2, dim=-1).to(x.dtype)
    rotated = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).flatten(-2)
    return x * cos + rotated * sin""")]),
    variant(ROPE, "angles_at_least_float32", "angles in float32 for float32 and half-precision inputs, float64 "
                                            "for float64 (promote_types(x.dtype, float32)), cast at the end",
            edits=[(_POS_F64, "ct = torch.promote_types(x.dtype, torch.float32)\n"
                              "    positions = torch.as_tensor(positions, dtype=ct, device=x.device)"),
                   (_THETA, "torch.arange(0, d, 2, dtype=ct, device=x.device) / d")]),
    # --- apply_rope_rotate_half ---
    variant(HALF, "via_permutation", "permutes into the interleaved layout, calls apply_rope, permutes back",
            code="def apply_rope_rotate_half(x, positions=None, base=10000.0):\n"
                 "    d = x.shape[-1]\n"
                 "    perm = torch.cat([torch.arange(0, d, 2), torch.arange(1, d, 2)])\n"
                 "    return apply_rope(x[..., torch.argsort(perm)], positions, base)[..., perm]\n"),
    variant(HALF, "halves_separately", "rotates the two halves separately and concatenates",
            edits=[(_HALF_TAIL, """    cos, sin = torch.cos(angles).to(x.dtype), torch.sin(angles).to(x.dtype)
    x_lo, x_hi = x.chunk(2, dim=-1)
    return torch.cat([x_lo * cos - x_hi * sin, x_lo * sin + x_hi * cos], dim=-1)""")]),
    variant(HALF, "complex_halves", "halves as real and imaginary parts of complex numbers",
            edits=[(_HALF_TAIL, """    z = torch.complex(x[..., : d // 2].double(), x[..., d // 2 :].double())
    z = z * torch.polar(torch.ones_like(angles), angles)
    return torch.cat([z.real, z.imag], dim=-1).to(x.dtype)""")]),
    variant(HALF, "angles_at_least_float32", "angles in float32 for float32 and half-precision inputs, float64 "
                                            "for float64 (promote_types(x.dtype, float32)), cast at the end",
            edits=[(_POS_F64, "ct = torch.promote_types(x.dtype, torch.float32)\n"
                              "    positions = torch.as_tensor(positions, dtype=ct, device=x.device)"),
                   (_THETA, "torch.arange(0, d, 2, dtype=ct, device=x.device) / d")]),
]
