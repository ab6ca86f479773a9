"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/variants.py."""
from autograder.authoring.variants import mutant, variant

PHI, LIN = "feature_map", "linear_attention"
REC, CUM, CHK = "causal_linear_attention_recurrent", "causal_linear_attention_cumsum", "causal_linear_attention_chunked"

MUTANTS = [
    # --- feature_map ---
    mutant(PHI, "relu", "relu: zero weights (and zero gradient) for negative inputs",
           edits=[("return F.elu(x) + 1", "return F.relu(x)")]),
    mutant(PHI, "exp", "exp: the softmax kernel's map, overflows for large inputs",
           edits=[("return F.elu(x) + 1", "return torch.exp(x)")]),
    mutant(PHI, "elu_without_one", "plain elu: negative features",
           edits=[("return F.elu(x) + 1", "return F.elu(x)")]),
    mutant(PHI, "relu_plus_one", "relu + 1: positive, but constant (no gradient) for x < 0",
           edits=[("return F.elu(x) + 1", "return F.relu(x) + 1")]),
    mutant(PHI, "softplus", "softplus: another positive map, not the paper's",
           edits=[("return F.elu(x) + 1", "return F.softplus(x)")]),
    mutant(PHI, "elu_of_x_plus_one", "adds 1 before the elu instead of after",
           edits=[("return F.elu(x) + 1", "return F.elu(x + 1)")]),
    mutant(PHI, "float32_cast", "computes in float32 whatever the input dtype",
           edits=[("return F.elu(x) + 1", "return F.elu(x.float()) + 1")]),
    # --- linear_attention ---
    mutant(LIN, "no_normaliser", "forgets the denominator",
           edits=[("return num / (den + eps)", "return num")]),
    mutant(LIN, "eps_outside", "adds eps to the output instead of the denominator",
           edits=[("return num / (den + eps)", "return num / den + eps")]),
    mutant(LIN, "eps_numerator_too", "adds eps to numerator and denominator",
           edits=[("return num / (den + eps)", "return (num + eps) / (den + eps)")]),
    mutant(LIN, "clamp_denominator", "clamps the denominator at eps instead of adding eps",
           edits=[("return num / (den + eps)", "return num / den.clamp_min(eps)")]),
    mutant(LIN, "mean_normaliser", "normalises with the mean of phi(k) instead of the sum",
           edits=[("z = phi_k.sum(dim=-2)", "z = phi_k.mean(dim=-2)")]),
    mutant(LIN, "softmax_scale", "keeps softmax attention's 1/sqrt(d_k) scale on the queries",
           edits=[("phi_q, phi_k = feature_map(q), feature_map(k)",
                   "phi_q, phi_k = feature_map(q / math.sqrt(q.shape[-1])), feature_map(k)")]),
    mutant(LIN, "phi_on_queries_only", "applies the feature map to the queries only",
           edits=[("phi_q, phi_k = feature_map(q), feature_map(k)", "phi_q, phi_k = feature_map(q), k")]),
    mutant(LIN, "quadratic", "right values, but builds the (n_q, n_k) weight matrix first",
           edits=[("num = phi_q @ kv ", "num = (phi_q @ phi_k.transpose(-2, -1)) @ v ")]),
    # --- causal_linear_attention_recurrent ---
    mutant(REC, "exclusive", "reads the output before adding the current token (a token cannot see itself)",
           edits=[("        S = S + phi_k[:, :, t, :, None] * v[:, :, t, None, :]\n        z = z + phi_k[:, :, t]\n", ""),
                  ("        outs.append(num / (den + eps))\n",
                   "        outs.append(num / (den + eps))\n"
                   "        S = S + phi_k[:, :, t, :, None] * v[:, :, t, None, :]\n        z = z + phi_k[:, :, t]\n")]),
    mutant(REC, "no_accumulation", "overwrites the state with the current token instead of adding to it",
           edits=[("S = S + phi_k[:, :, t, :, None]", "S = phi_k[:, :, t, :, None]"),
                  ("z = z + phi_k[:, :, t]", "z = phi_k[:, :, t]")]),
    mutant(REC, "normaliser_not_accumulated", "accumulates S but not z",
           edits=[("z = z + phi_k[:, :, t]", "z = phi_k[:, :, t]")]),
    mutant(REC, "no_normaliser", "forgets the denominator",
           edits=[("outs.append(num / (den + eps))", "outs.append(num)")]),
    mutant(REC, "eps_outside", "adds eps to the output instead of the denominator",
           edits=[("outs.append(num / (den + eps))", "outs.append(num / den + eps)")]),
    mutant(REC, "z_starts_at_one", "starts the normaliser state at ones 'to avoid dividing by zero'",
           edits=[("z = phi_q.new_zeros(B, H, d_k)", "z = phi_q.new_ones(B, H, d_k)")]),
    mutant(REC, "key_as_query", "copy-paste slip: reads the state with phi(k_t) instead of phi(q_t)",
           edits=[("qt = phi_q[:, :, t] ", "qt = phi_k[:, :, t] ")]),
    mutant(REC, "state_transposed", "stores v_t phi(k_t)^T and contracts the wrong axis",
           edits=[("num = (qt[..., None] * S).sum(dim=-2)", "num = (qt[..., None, :] * S).sum(dim=-1)")]),
    # right values, but not the recurrent form
    mutant(REC, "masked_quadratic", "right values from a masked (n, n) matrix, no recurrence",
           code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    a = (phi_q @ phi_k.transpose(-2, -1)).tril()
    return (a @ v) / (a.sum(dim=-1, keepdim=True) + eps)
'''),
    mutant(REC, "cumsum_inside", "the cumulative-sum form written out in the recurrent function (one state per position)",
           code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)
    z = torch.cumsum(phi_k, dim=-2)
    num = (phi_q[..., None] * S).sum(dim=-2)
    den = (phi_q * z).sum(dim=-1, keepdim=True)
    return num / (den + eps)
'''),
    mutant(REC, "chunks_inside", "loops over chunks of 16 positions with a masked block (the chunked form), not over positions",
           code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    B, H, n, d_k = q.shape
    S = phi_q.new_zeros(B, H, d_k, v.shape[-1])
    z = phi_q.new_zeros(B, H, d_k, 1)
    outs = []
    for start in range(0, n, 16):
        qc, kc, vc = phi_q[:, :, start:start + 16], phi_k[:, :, start:start + 16], v[:, :, start:start + 16]
        a = (qc @ kc.transpose(-2, -1)).tril()
        outs.append((qc @ S + a @ vc) / (qc @ z + a.sum(dim=-1, keepdim=True) + eps))
        S = S + kc.transpose(-2, -1) @ vc
        z = z + kc.sum(dim=-2).unsqueeze(-1)
    return torch.cat(outs, dim=-2)
'''),
    mutant(REC, "weights_precomputed", "loops over positions, but reads each row of a precomputed (n, n) weight matrix",
           code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    A = phi_q @ phi_k.transpose(-2, -1)                                    # (B, H, n, n)
    pos = torch.arange(q.shape[2])
    outs = []
    for t in range(q.shape[2]):
        w = A[:, :, t] * (pos <= t)                                        # (B, H, n)
        outs.append((w[..., None, :] @ v).squeeze(-2) / (w.sum(dim=-1, keepdim=True) + eps))
    return torch.stack(outs, dim=-2)
'''),
    mutant(REC, "prefix_each_step", "loops over positions but re-reads the whole prefix at each step (no state carried)",
           code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    outs = []
    for t in range(q.shape[2]):
        w = phi_q[:, :, t:t + 1] @ phi_k[:, :, :t + 1].transpose(-2, -1)     # (B, H, 1, t + 1)
        outs.append((w @ v[:, :, :t + 1]) / (w.sum(dim=-1, keepdim=True) + eps))
    return torch.cat(outs, dim=-2)
'''),
    # --- causal_linear_attention_cumsum ---
    mutant(CUM, "wrong_axis", "cumsum over the d_k axis instead of the sequence axis",
           edits=[("v[..., None, :], dim=-3)", "v[..., None, :], dim=-2)")]),
    mutant(CUM, "z_wrong_axis", "cumsum of the features over the feature axis",
           edits=[("z = torch.cumsum(phi_k, dim=-2)", "z = torch.cumsum(phi_k, dim=-1)")]),
    mutant(CUM, "exclusive", "exclusive cumulative sums: a token cannot see itself",
           edits=[("num = (phi_q[..., None] * S).sum(dim=-2)",
                   "S = S - phi_k[..., :, None] * v[..., None, :]\n    z = z - phi_k\n"
                   "    num = (phi_q[..., None] * S).sum(dim=-2)")]),
    mutant(CUM, "normaliser_not_causal", "normalises with the sum over all keys (future included)",
           edits=[("z = torch.cumsum(phi_k, dim=-2)", "z = phi_k.sum(dim=-2, keepdim=True)")]),
    mutant(CUM, "reversed", "cumulative sums from the end of the sequence (anti-causal)",
           edits=[("S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)",
                   "S = torch.cumsum((phi_k[..., :, None] * v[..., None, :]).flip(-3), dim=-3).flip(-3)"),
                  ("z = torch.cumsum(phi_k, dim=-2)", "z = torch.cumsum(phi_k.flip(-2), dim=-2).flip(-2)")]),
    mutant(CUM, "no_normaliser", "forgets the denominator",
           edits=[("return num / (den + eps)", "return num")]),
    mutant(CUM, "eps_numerator_too", "adds eps to numerator and denominator",
           edits=[("return num / (den + eps)", "return (num + eps) / (den + eps)")]),
    mutant(CUM, "quadratic", "right values from a masked (n, n) matrix instead of cumulative sums",
           code='''def causal_linear_attention_cumsum(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    a = (phi_q @ phi_k.transpose(-2, -1)).tril()
    return (a @ v) / (a.sum(dim=-1, keepdim=True) + eps)
'''),
    mutant(CUM, "quadratic_numerator", "normaliser from cumsum, but the numerator from a masked (n, n) matrix",
           edits=[("    S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)   # (B, H, n, d_k, d_v)\n", ""),
                  ("    num = (phi_q[..., None] * S).sum(dim=-2)                          # (B, H, n, d_v)\n",
                   "    num = (phi_q @ phi_k.transpose(-2, -1)).tril() @ v\n")]),
    mutant(CUM, "loop_running_sum", "the running sums from a Python loop over the positions instead of cumsum",
           edits=[("    S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)   # (B, H, n, d_k, d_v)\n"
                   "    z = torch.cumsum(phi_k, dim=-2)                                   # (B, H, n, d_k)\n",
                   "    prods = phi_k[..., :, None] * v[..., None, :]\n"
                   "    S, z = torch.empty_like(prods), torch.empty_like(phi_k)\n"
                   "    S_t, z_t = torch.zeros_like(prods[:, :, 0]), torch.zeros_like(phi_k[:, :, 0])\n"
                   "    for t in range(q.shape[2]):\n"
                   "        S_t, z_t = S_t + prods[:, :, t], z_t + phi_k[:, :, t]\n"
                   "        S[:, :, t], z[:, :, t] = S_t, z_t\n")]),
    mutant(CUM, "calls_recurrent", "hands the work to the recurrent form",
           code='''def causal_linear_attention_cumsum(q, k, v, eps=1e-6):
    return causal_linear_attention_recurrent(q, k, v, eps=eps)
'''),
    mutant(CUM, "triangular_ones", "prefix sums as a product with an (n, n) lower-triangular matrix of ones",
           edits=[("    S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)   # (B, H, n, d_k, d_v)\n"
                   "    z = torch.cumsum(phi_k, dim=-2)                                   # (B, H, n, d_k)\n",
                   "    L = torch.ones(q.shape[2], q.shape[2], dtype=q.dtype).tril()\n"
                   "    S = torch.einsum('ij,bhjde->bhide', L, phi_k[..., :, None] * v[..., None, :])\n"
                   "    z = L @ phi_k\n")]),
    # --- causal_linear_attention_chunked ---
    mutant(CHK, "mask_excludes_diagonal", "causal mask inside a chunk off by one (j < i)",
           edits=[(".tril()", ".tril(diagonal=-1)")]),
    mutant(CHK, "no_mask", "forgets the mask inside a chunk (sees the rest of its chunk)",
           edits=[(".masked_fill(~mask[:c, :c], 0.0)", "")]),
    mutant(CHK, "state_not_carried", "forgets the state of earlier chunks (each chunk on its own)",
           edits=[("num = qc @ S + scores @ vc", "num = scores @ vc"),
                  ("den = qc @ z + scores.sum(dim=-1, keepdim=True)", "den = scores.sum(dim=-1, keepdim=True)")]),
    mutant(CHK, "normaliser_not_carried", "carries S but not z across chunks",
           edits=[("den = qc @ z + scores.sum(dim=-1, keepdim=True)", "den = scores.sum(dim=-1, keepdim=True)")]),
    mutant(CHK, "state_updated_first", "adds the chunk to the state before reading it (double counts, leaks the chunk)",
           edits=[("        S = S + kc.transpose(-2, -1) @ vc                 # then carry the chunk into the state\n"
                   "        z = z + kc.sum(dim=-2).unsqueeze(-1)\n", ""),
                  ("        num = qc @ S + scores @ vc",
                   "        S = S + kc.transpose(-2, -1) @ vc\n        z = z + kc.sum(dim=-2).unsqueeze(-1)\n"
                   "        num = qc @ S + scores @ vc")]),
    mutant(CHK, "full_mask_last_chunk", "uses the full chunk_size mask for a shorter last chunk",
           edits=[("~mask[:c, :c]", "~mask")]),
    mutant(CHK, "boundary_off_by_one", "chunks overlap by one position at each boundary",
           edits=[("end = min(start + chunk_size, n)", "end = min(start + chunk_size + 1, n)")]),
    mutant(CHK, "last_chunk_dropped", "drops a last partial chunk",
           edits=[("for start in range(0, n, chunk_size):", "for start in range(0, n - chunk_size + 1, chunk_size):")]),
    mutant(CHK, "one_big_chunk", "right values, but ignores chunk_size: one (n, n) block",
           edits=[("B, H, n, d_k = phi_q.shape", "B, H, n, d_k = phi_q.shape\n    chunk_size = n")]),
    mutant(CHK, "mask_of_chunk_size", "builds its (chunk_size, chunk_size) mask even when the sequence is shorter",
           edits=[("C = min(chunk_size, n)", "C = chunk_size")]),
    # right values, but not the chunked form
    mutant(CHK, "calls_cumsum", "hands the work to the cumulative-sum form",
           code='''def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    return causal_linear_attention_cumsum(q, k, v, eps=eps)
'''),
    mutant(CHK, "calls_recurrent", "hands the work to the recurrent form",
           code='''def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    return causal_linear_attention_recurrent(q, k, v, eps=eps)
'''),
    mutant(CHK, "position_loop", "the recurrent loop over positions, chunk_size ignored",
           code='''def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    B, H, n, d_k = phi_q.shape
    S = phi_q.new_zeros(B, H, d_k, v.shape[-1])
    z = phi_q.new_zeros(B, H, d_k)
    outs = []
    for t in range(n):
        S = S + phi_k[:, :, t, :, None] * v[:, :, t, None, :]
        z = z + phi_k[:, :, t]
        qt = phi_q[:, :, t]
        outs.append((qt[..., None] * S).sum(dim=-2) / ((qt * z).sum(dim=-1, keepdim=True) + eps))
    return torch.stack(outs, dim=-2)
'''),
    mutant(CHK, "cumsum_states", "loops over chunks, but reads the earlier chunks from the cumulative sums of all positions",
           code='''def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    n = q.shape[2]
    S_all = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=2)    # (B, H, n, d_k, d_v)
    z_all = torch.cumsum(phi_k, dim=2)
    outs = []
    for start in range(0, n, chunk_size):
        end = min(start + chunk_size, n)
        qc, kc, vc = phi_q[:, :, start:end], phi_k[:, :, start:end], v[:, :, start:end]
        scores = (qc @ kc.transpose(-2, -1)).tril()
        num, den = scores @ vc, scores.sum(dim=-1, keepdim=True)
        if start > 0:
            num = num + qc @ S_all[:, :, start - 1]
            den = den + qc @ z_all[:, :, start - 1].unsqueeze(-1)
        outs.append(num / (den + eps))
    return torch.cat(outs, dim=-2)
'''),
]

VARIANTS = [
    # --- feature_map ---
    variant(PHI, "where_exp", "the piecewise definition with where (exp of a clamped input)",
            edits=[("return F.elu(x) + 1", "return torch.where(x > 0, x + 1, torch.exp(torch.clamp(x, max=0)))")]),
    variant(PHI, "relu_plus_exp", "relu(x) + exp(min(x, 0))",
            edits=[("return F.elu(x) + 1", "return x.clamp(min=0) + torch.exp(x.clamp(max=0))")]),
    variant(PHI, "module_float64", "nn.ELU module, float64 inside",
            edits=[("return F.elu(x) + 1", "return (torch.nn.ELU(alpha=1.0)(x.double()) + 1.0).to(x.dtype)")]),
    # --- linear_attention ---
    variant(LIN, "einsum", "einsum throughout",
            edits=[("kv = phi_k.transpose(-2, -1) @ v ", "kv = torch.einsum('bhnd,bhne->bhde', phi_k, v) "),
                   ("num = phi_q @ kv ", "num = torch.einsum('bhnd,bhde->bhne', phi_q, kv) "),
                   ("den = phi_q @ z.unsqueeze(-1) ", "den = torch.einsum('bhnd,bhd->bhn', phi_q, z)[..., None] ")]),
    variant(LIN, "ones_column", "appends a column of ones to v: numerator and denominator in one product",
            code='''def linear_attention(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    v1 = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)
    out = phi_q @ (phi_k.transpose(-2, -1) @ v1)
    return out[..., :-1] / (out[..., -1:] + eps)
'''),
    variant(LIN, "float64_inside", "computes in float64, returns the input dtype",
            edits=[("phi_q, phi_k = feature_map(q), feature_map(k)",
                    "phi_q, phi_k = feature_map(q).double(), feature_map(k).double()\n    dtype, v = v.dtype, v.double()"),
                   ("return num / (den + eps)", "return (num / (den + eps)).to(dtype)")]),
    variant(LIN, "keepdim_sum", "normaliser from a keepdim sum and a broadcast product",
            edits=[("z = phi_k.sum(dim=-2) ", "z = phi_k.sum(dim=-2, keepdim=True) "),
                   ("den = phi_q @ z.unsqueeze(-1) ", "den = (phi_q * z).sum(dim=-1, keepdim=True) ")]),
    # --- causal_linear_attention_recurrent ---
    variant(REC, "matmul_steps", "matmul/outer products per step, preallocated output",
            code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    B, H, n, d_k = q.shape
    out = torch.empty(B, H, n, v.shape[-1], dtype=v.dtype)
    S = torch.zeros(B, H, d_k, v.shape[-1], dtype=v.dtype)
    z = torch.zeros(B, H, d_k, 1, dtype=v.dtype)
    for t in range(n):
        S += phi_k[:, :, t].unsqueeze(-1) @ v[:, :, t].unsqueeze(-2)
        z += phi_k[:, :, t].unsqueeze(-1)
        qt = phi_q[:, :, t].unsqueeze(-2)
        out[:, :, t] = ((qt @ S) / (qt @ z + eps)).squeeze(-2)
    return out
'''),
    variant(REC, "einsum", "einsum per step",
            edits=[("S = S + phi_k[:, :, t, :, None] * v[:, :, t, None, :]",
                    "S = S + torch.einsum('bhd,bhe->bhde', phi_k[:, :, t], v[:, :, t])"),
                   ("num = (qt[..., None] * S).sum(dim=-2) ", "num = torch.einsum('bhd,bhde->bhe', qt, S) ")]),
    variant(REC, "augmented_state", "one state with a ones column appended to v (z is its last column), float64",
            code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q.double()), feature_map(k.double())
    v1 = torch.cat([v.double(), torch.ones_like(v[..., :1], dtype=torch.float64)], dim=-1)
    state = torch.zeros(q.shape[0], q.shape[1], q.shape[-1], v1.shape[-1], dtype=torch.float64)
    rows = []
    for t in range(q.shape[2]):
        state = state + torch.einsum('bhd,bhe->bhde', phi_k[:, :, t], v1[:, :, t])
        o = torch.einsum('bhd,bhde->bhe', phi_q[:, :, t], state)
        rows.append(o[..., :-1] / (o[..., -1:] + eps))
    return torch.stack(rows, dim=2).to(v.dtype)
'''),
    variant(REC, "one_position_windows", "reads each position as a slice t:t + 1, in-place state update, preallocated output",
            code='''def causal_linear_attention_recurrent(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    out = torch.zeros(v.shape, dtype=v.dtype)
    S = torch.zeros(q.shape[0], q.shape[1], q.shape[-1], v.shape[-1], dtype=v.dtype)
    z = torch.zeros(q.shape[0], q.shape[1], 1, q.shape[-1], dtype=v.dtype)
    for t in range(q.shape[2]):
        end = t + 1
        kt, qt = phi_k[:, :, t:end], phi_q[:, :, t:end]               # (B, H, 1, d_k)
        S += kt.transpose(-2, -1) @ v[:, :, t:end]
        z = z + kt
        out[:, :, t:end] = (qt @ S) / ((qt * z).sum(dim=-1, keepdim=True) + eps)
    return out
'''),
    # --- causal_linear_attention_cumsum ---
    variant(CUM, "einsum", "einsum for the outer products and the contraction",
            edits=[("S = torch.cumsum(phi_k[..., :, None] * v[..., None, :], dim=-3)",
                    "S = torch.einsum('bhnd,bhne->bhnde', phi_k, v).cumsum(dim=2)"),
                   ("num = (phi_q[..., None] * S).sum(dim=-2) ", "num = torch.einsum('bhnd,bhnde->bhne', phi_q, S) ")]),
    variant(CUM, "ones_column_float64", "ones column appended to v, float64 inside",
            code='''def causal_linear_attention_cumsum(q, k, v, eps=1e-6):
    phi_q, phi_k = feature_map(q).double(), feature_map(k).double()
    v1 = torch.cat([v.double(), torch.ones_like(v[..., :1], dtype=torch.float64)], dim=-1)
    S = torch.cumsum(phi_k.unsqueeze(-1) * v1.unsqueeze(-2), dim=2)
    o = (phi_q.unsqueeze(-2) @ S).squeeze(-2)
    return (o[..., :-1] / (o[..., -1:] + eps)).to(v.dtype)
'''),
    variant(CUM, "matmul_contraction", "matmul for the contraction, positive axis numbers",
            edits=[("num = (phi_q[..., None] * S).sum(dim=-2) ", "num = (phi_q.unsqueeze(3) @ S).squeeze(3) "),
                   ("z = torch.cumsum(phi_k, dim=-2) ", "z = phi_k.cumsum(2) ")]),
    variant(CUM, "generator_over_inputs", "feature map through a generator over (q, k), cumsum_ in place, torch.cumsum of the features",
            code='''def causal_linear_attention_cumsum(q, k, v, eps=1e-6):
    phi_q, phi_k = (feature_map(x) for x in (q, k))
    S = torch.einsum('bhnd,bhne->bhnde', phi_k, v)
    S.cumsum_(dim=2)
    z = torch.cumsum(phi_k, 2)
    num = torch.einsum('bhnd,bhnde->bhne', phi_q, S)
    return num / ((phi_q * z).sum(-1, keepdim=True) + eps)
'''),
    # --- causal_linear_attention_chunked ---
    variant(CHK, "vectorised", "pads to a multiple of the chunk size; all chunks at once, exclusive cumsum of chunk states",
            code='''def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    B, H, n, d_k = q.shape
    C = min(chunk_size, n)                                           # one short chunk when n < chunk_size
    pad = (-n) % C
    v1 = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)      # last column: the normaliser
    # zero padding at the end adds nothing to any state and only affects discarded rows
    qp, kp, vp = (F.pad(t, (0, 0, 0, pad)) for t in (phi_q, phi_k, v1))
    N = (n + pad) // C
    qc, kc, vc = (t.reshape(B, H, N, C, t.shape[-1]) for t in (qp, kp, vp))
    states = kc.transpose(-2, -1) @ vc                               # (B, H, N, d_k, d_v + 1)
    before = torch.cumsum(states, dim=2) - states                    # exclusive: earlier chunks only
    mask = torch.ones(C, C, dtype=torch.bool).tril()
    scores = (qc @ kc.transpose(-2, -1)) * mask
    o = qc @ before + scores @ vc
    o = o.reshape(B, H, N * C, -1)[:, :, :n]
    return o[..., :-1] / (o[..., -1:] + eps)
'''),
    variant(CHK, "tril_float64", "scores.tril() instead of a stored mask, float64 inside",
            edits=[("phi_q, phi_k = feature_map(q), feature_map(k)",
                    "phi_q, phi_k = feature_map(q).double(), feature_map(k).double()\n    dtype, v = v.dtype, v.double()"),
                   ("scores = (qc @ kc.transpose(-2, -1)).masked_fill(~mask[:c, :c], 0.0)",
                    "scores = (qc @ kc.transpose(-2, -1)).tril()"),
                   ("return torch.cat(outs, dim=-2)", "return torch.cat(outs, dim=-2).to(dtype)")]),
    variant(CHK, "einsum_split", "einsum, torch.split into chunks, preallocated output",
            code='''def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    out = torch.empty(*v.shape, dtype=v.dtype)
    S = torch.zeros(q.shape[0], q.shape[1], q.shape[-1], v.shape[-1], dtype=v.dtype)
    z = torch.zeros(q.shape[0], q.shape[1], q.shape[-1], dtype=v.dtype)
    pos = 0
    for qc, kc, vc in zip(phi_q.split(chunk_size, dim=2), phi_k.split(chunk_size, dim=2), v.split(chunk_size, dim=2)):
        c = qc.shape[2]
        a = torch.einsum('bhid,bhjd->bhij', qc, kc) * torch.ones(c, c).tril()
        num = torch.einsum('bhid,bhde->bhie', qc, S) + torch.einsum('bhij,bhje->bhie', a, vc)
        den = torch.einsum('bhid,bhd->bhi', qc, z) + a.sum(-1)
        out[:, :, pos:pos + c] = num / (den[..., None] + eps)
        S = S + torch.einsum('bhjd,bhje->bhde', kc, vc)
        z = z + kc.sum(2)
        pos += c
    return out
'''),
    variant(CHK, "while_helper", "a while loop over chunk starts, the intra-chunk term in a helper of the cell, a float mask from arange",
            code='''def _intra(qc, kc, vc):
    i = torch.arange(qc.shape[-2])
    w = (qc @ kc.transpose(-2, -1)) * (i[:, None] >= i[None, :]).to(qc.dtype)
    return w @ vc, w.sum(dim=-1, keepdim=True)


def causal_linear_attention_chunked(q, k, v, chunk_size=64, eps=1e-6):
    phi_q, phi_k = feature_map(q), feature_map(k)
    n = q.shape[-2]
    S = phi_q.new_zeros(q.shape[0], q.shape[1], q.shape[-1], v.shape[-1])
    z = phi_q.new_zeros(q.shape[0], q.shape[1], q.shape[-1], 1)
    out = []
    s = 0
    while s < n:
        e = min(n, s + chunk_size)
        qc, kc, vc = phi_q[..., s:e, :], phi_k[..., s:e, :], v[..., s:e, :]
        num, den = _intra(qc, kc, vc)
        out.append((qc @ S + num) / (qc @ z + den + eps))
        S, z = S + kc.transpose(-2, -1) @ vc, z + kc.sum(dim=-2)[..., None]
        s = e
    return torch.cat(out, dim=-2)
'''),
]
