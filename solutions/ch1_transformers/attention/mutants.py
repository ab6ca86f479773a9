"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/variants.py."""
from autograder.authoring.variants import mutant, variant

SDPA, MHA = "scaled_dot_product_attention", "multi_head_attention"

MUTANTS = [
    # --- scaled_dot_product_attention ---
    mutant(SDPA, "no_scale", "forgets the 1/sqrt(d_k) scale",
           edits=[(" / math.sqrt(d_k)", "")]),
    mutant(SDPA, "scale_by_d", "divides by d_k instead of sqrt(d_k)",
           edits=[("/ math.sqrt(d_k)", "/ d_k")]),
    mutant(SDPA, "softmax_over_queries", "softmax over the query axis",
           edits=[("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")]),
    mutant(SDPA, "mask_after_softmax", "zeroes masked weights after the softmax (rows no longer sum to 1)",
           edits=[("scores = scores.masked_fill(~mask, float(\"-inf\"))", "pass"),
                  ("weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)",
                   "weights = weights.masked_fill(~mask, 0.0)")]),
    mutant(SDPA, "mask_fill_zero", "fills masked scores with 0 instead of -inf",
           edits=[("masked_fill(~mask, float(\"-inf\"))", "masked_fill(~mask, 0.0)")]),
    mutant(SDPA, "mask_inverted", "reads True as 'masked out' (the key_padding_mask convention)",
           edits=[("masked_fill(~mask, float(\"-inf\"))", "masked_fill(mask, float(\"-inf\"))"),
                  ("masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)", "masked_fill(mask.all(dim=-1, keepdim=True), 0.0)")]),
    mutant(SDPA, "nan_on_fully_masked", "leaves NaN on queries with no allowed key",
           edits=[("weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)", "pass")]),
    mutant(SDPA, "fill_minus_1e9", "fills with -1e9: a fully masked query averages all values",
           edits=[("float(\"-inf\")", "-1e9"),
                  ("weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)", "pass")]),
    mutant(SDPA, "float32_cast", "computes in float32 whatever the input dtype",
           edits=[("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
                   "scores = (q.float() @ k.float().transpose(-2, -1) / math.sqrt(d_k))"),
                  ("return weights @ v, weights", "return (weights @ v.float()).to(v.dtype), weights.to(v.dtype)")]),
    mutant(SDPA, "naive_softmax", "softmax written as exp(s) / sum(exp(s)): overflows (inf / inf) for large scores",
           edits=[("weights = torch.softmax(scores, dim=-1)",
                   "e = torch.exp(scores)\n    weights = e / e.sum(dim=-1, keepdim=True)")]),
    mutant(SDPA, "global_max", "hand-written softmax shifted by the maximum of the whole tensor, not of each row: "
                               "rows far below it underflow to 0 / 0",
           edits=[("weights = torch.softmax(scores, dim=-1)",
                   "e = torch.exp(scores - scores.max())\n    weights = e / e.sum(dim=-1, keepdim=True)")]),
    mutant(SDPA, "clamped_scores", "clamps the scores at 80 to keep exp finite instead of subtracting the row maximum",
           edits=[("weights = torch.softmax(scores, dim=-1)",
                   "e = torch.exp(scores.clamp(max=80.0))\n    weights = e / e.sum(dim=-1, keepdim=True)")]),
    mutant(SDPA, "additive_nan_to_num", "additive -inf mask and nan_to_num for empty rows: right forward pass, "
                                        "NaN gradients for q and k on a fully masked row",
           edits=[("scores = scores.masked_fill(~mask, float(\"-inf\"))",
                   "scores = scores + torch.zeros_like(scores).masked_fill(~mask, float('-inf'))"),
                  ("weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)",
                   "weights = torch.nan_to_num(weights, nan=0.0)")]),
    mutant(SDPA, "additive_zero_rows", "additive -inf mask, empty rows zeroed after the softmax: the softmax's "
                                       "backward pass still turns 0 * NaN into NaN gradients for q and k",
           edits=[("scores = scores.masked_fill(~mask, float(\"-inf\"))",
                   "scores = scores + torch.zeros_like(scores).masked_fill(~mask, float('-inf'))")]),
    # --- MultiHeadAttention ---
    mutant(MHA, "wrong_head_split", "splits heads with view(B, h, L, d_head): heads mix positions",
           edits=[("return x.view(B, L, self.num_heads, self.d_head).transpose(1, 2)",
                   "return x.view(B, self.num_heads, L, self.d_head)")]),
    mutant(MHA, "wrong_head_merge", "merges heads without moving the head axis back",
           edits=[("out = out.transpose(1, 2).reshape(B, L_q, self.d_model)", "out = out.reshape(B, L_q, self.d_model)")]),
    mutant(MHA, "no_out_proj", "forgets the output projection",
           edits=[("return self.out_proj(out), weights", "return out, weights")]),
    mutant(MHA, "padding_mask_not_inverted", "passes key_padding_mask (True = pad) straight as 'True = attend'",
           edits=[("mask = ~key_padding_mask[:, None, None, :]", "mask = key_padding_mask[:, None, None, :]")]),
    mutant(MHA, "causal_excludes_self", "causal mask off by one: a query cannot see its own position",
           edits=[(".tril()", ".tril(diagonal=-1)")]),
    mutant(MHA, "causal_overrides_padding", "causal mask replaces the padding mask instead of combining",
           edits=[("mask = future if mask is None else mask & future", "mask = future")]),
    mutant(MHA, "values_from_key_proj", "copy-paste slip: values projected with k_proj",
           edits=[("v = split(self.v_proj(value), L_k)", "v = split(self.k_proj(value), L_k)")]),
    mutant(MHA, "padding_on_queries", "broadcasts the padding mask over queries instead of keys",
           edits=[("mask = ~key_padding_mask[:, None, None, :]", "mask = ~key_padding_mask[:, None, :, None]")]),
]

VARIANTS = [
    variant(SDPA, "einsum", "einsum instead of matmul, rsqrt scale",
            edits=[("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
                    "scores = torch.einsum('...qd,...kd->...qk', q, k) * d_k ** -0.5"),
                   ("return weights @ v, weights", "return torch.einsum('...qk,...kd->...qd', weights, v), weights")]),
    variant(SDPA, "additive_mask_safe_rows", "additive -inf mask; the scores of empty rows reset to 0 before the "
                                             "softmax, their weights zeroed after it",
            edits=[("scores = scores.masked_fill(~mask, float(\"-inf\"))",
                    "scores = scores + torch.zeros_like(scores).masked_fill(~mask, float('-inf'))\n"
                    "        scores = torch.where(mask.any(dim=-1, keepdim=True), scores, torch.zeros_like(scores))")]),
    variant(SDPA, "masked_fill_nan_to_num", "masked_fill with -inf, then nan_to_num on the weights (gradients stay "
                                            "finite: masked_fill sends none back to the filled scores)",
            edits=[("weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)",
                    "weights = torch.nan_to_num(weights, nan=0.0)")]),
    variant(SDPA, "float32_for_half", "computes in float32 for half-precision inputs (as fused kernels do), in the "
                                      "input dtype otherwise",
            edits=[("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
                    "ct = torch.promote_types(q.dtype, torch.float32)\n"
                    "    scores = q.to(ct) @ k.to(ct).transpose(-2, -1) / math.sqrt(d_k)"),
                   ("return weights @ v, weights", "return (weights @ v.to(ct)).to(v.dtype), weights.to(v.dtype)")]),
    variant(SDPA, "float64_inside", "computes in float64, returns the input dtype",
            edits=[("scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)",
                    "scores = q.double() @ k.double().transpose(-2, -1) / math.sqrt(d_k)"),
                   ("return weights @ v, weights", "return (weights @ v.double()).to(v.dtype), weights.to(v.dtype)")]),
    variant(SDPA, "manual_softmax", "stable softmax written by hand with where()",
            edits=[("weights = torch.softmax(scores, dim=-1)",
                    "m = scores.amax(dim=-1, keepdim=True)\n"
                    "    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))\n"
                    "    e = torch.exp(scores - m)\n"
                    "    weights = e / e.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(e.dtype).tiny)")]),
    variant(MHA, "permute_unflatten", "unflatten + permute, logical_not, torch.tril",
            edits=[("return x.view(B, L, self.num_heads, self.d_head).transpose(1, 2)",
                    "return x.unflatten(-1, (self.num_heads, self.d_head)).permute(0, 2, 1, 3)"),
                   ("mask = ~key_padding_mask[:, None, None, :]",
                    "mask = key_padding_mask.logical_not().view(B, 1, 1, L_k)"),
                   ("out = out.transpose(1, 2).reshape(B, L_q, self.d_model)",
                    "out = out.permute(0, 2, 1, 3).flatten(2)")]),
    variant(MHA, "additive_order", "builds the causal mask first, padding second, via torch.tril",
            edits=[("future = torch.ones(L_q, L_k, dtype=torch.bool, device=query.device).tril()",
                    "future = torch.tril(torch.ones(L_q, L_k, device=query.device)).bool()"),
                   ("mask = future if mask is None else mask & future",
                    "mask = future & (mask if mask is not None else True)")]),
    variant(MHA, "contiguous_merge", "contiguous().view for the merge",
            edits=[("out = out.transpose(1, 2).reshape(B, L_q, self.d_model)",
                    "out = out.transpose(1, 2).contiguous().view(B, L_q, -1)")]),
]
