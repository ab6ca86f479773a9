"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/authoring/variants.py."""
from autograder.authoring.variants import mutant, variant

AP, CAP, MEAN, WIN, MODEL, TRAIN = ("average_precision", "calibrated_average_precision", "mean_ap",
                                    "past_windows", "OadTR", "train_detector")

_AP_TAIL = "    return float((recall_gain * tp / (tp + fp)).sum())"
_CAP_TAIL = "    return float((recall_gain * w * tp / (w * tp + fp)).sum())"
_GROUPS = "    last[:-1] = s[1:] != s[:-1]"
_GROUPS_AP = "    last = torch.ones_like(s, dtype=torch.bool)         # last frame of each group of equal scores\n" + _GROUPS

MUTANTS = [
    # --- average_precision ---
    mutant(AP, "voc_11_point", "PASCAL VOC 2007: interpolated precision sampled at 11 recall levels",
           edits=[(_AP_TAIL, "    prec, rec = tp / (tp + fp), tp / n_pos\n"
                             "    return float(sum((prec[rec >= r].max() if (rec >= r).any() else prec.new_zeros(())) "
                             "for r in torch.linspace(0, 1, 11, dtype=torch.float64)) / 11)")]),
    mutant(AP, "interpolated", "all-point interpolation: each precision replaced by the best at any higher recall",
           edits=[(_AP_TAIL, "    prec = (tp / (tp + fp)).flip(0).cummax(0).values.flip(0)\n"
                             "    return float((recall_gain * prec).sum())")]),
    mutant(AP, "ties_by_order", "breaks ties by the order of argsort: one threshold per frame",
           edits=[(_GROUPS_AP, "    last = torch.ones_like(s, dtype=torch.bool)")]),
    mutant(AP, "ties_pessimistic", "breaks ties with the negatives first, then one threshold per frame",
           code='''def average_precision(scores, targets):
    s = scores.detach().double().flatten()
    hit = targets.flatten().bool()
    n_pos = int(hit.sum())
    if n_pos == 0:
        return float("nan")
    by_target = torch.argsort(hit.long(), stable=True)                 # negatives first
    order = by_target[torch.argsort(s[by_target], descending=True, stable=True)]
    h = hit[order].double()
    prec = h.cumsum(0) / torch.arange(1, len(h) + 1, dtype=torch.float64)
    return float((prec * h).sum() / n_pos)
'''),
    mutant(AP, "trapezoid", "area under the PR curve by the trapezoidal rule (sklearn.metrics.auc)",
           edits=[(_AP_TAIL, "    prec = tp / (tp + fp)\n"
                             "    prev = torch.cat([prec[:1], prec[:-1]])\n"
                             "    return float((recall_gain * (prec + prev) / 2).sum())")]),
    mutant(AP, "no_positive_zero", "returns 0 without positive frames, like scikit-learn",
           edits=[("    if n_pos == 0:\n        return float(\"nan\")\n    order", "    if n_pos == 0:\n        return 0.0\n    order")]),
    mutant(AP, "mean_over_frames", "divides by the number of frames instead of the number of positives",
           edits=[("    recall_gain = torch.diff(tp, prepend=tp.new_zeros(1)) / n_pos\n    return float((recall_gain * tp / (tp + fp)).sum())",
                   "    recall_gain = torch.diff(tp, prepend=tp.new_zeros(1)) / s.numel()\n    return float((recall_gain * tp / (tp + fp)).sum())")]),
    mutant(AP, "ascending", "sorts the scores in increasing order",
           edits=[("    order = torch.argsort(s, descending=True)\n    s, hit = s[order], hit[order].to(torch.float64)\n    tp, fp = hit.cumsum(0), (1 - hit).cumsum(0)\n    last = torch.ones_like(s, dtype=torch.bool)         #",
                   "    order = torch.argsort(s)\n    s, hit = s[order], hit[order].to(torch.float64)\n    tp, fp = hit.cumsum(0), (1 - hit).cumsum(0)\n    last = torch.ones_like(s, dtype=torch.bool)         #")]),
    mutant(AP, "sklearn", "calls scikit-learn (the exercise asks for tensor code)",
           code='''def average_precision(scores, targets):
    from sklearn.metrics import average_precision_score
    hit = targets.flatten().bool()
    if not hit.any():
        return float("nan")
    return float(average_precision_score(hit.numpy(), scores.detach().double().flatten().numpy()))
'''),
    # --- calibrated_average_precision ---
    mutant(CAP, "w_inverted", "w = positives / negatives",
           edits=[("    w = n_neg / n_pos", "    w = n_pos / n_neg")]),
    mutant(CAP, "w_all_frames", "w = all frames / positives",
           edits=[("    w = n_neg / n_pos", "    w = hit.numel() / n_pos")]),
    mutant(CAP, "uncalibrated", "forgets the calibration: plain AP",
           edits=[(_CAP_TAIL, "    return float((recall_gain * tp / (tp + fp)).sum())")]),
    mutant(CAP, "ties_by_order", "breaks ties by the order of argsort",
           edits=[("    last = torch.ones_like(s, dtype=torch.bool)\n" + _GROUPS + "\n    tp, fp = tp[last], fp[last]\n    recall_gain = torch.diff(tp, prepend=tp.new_zeros(1)) / n_pos\n    return float((recall_gain * w",
                   "    last = torch.ones_like(s, dtype=torch.bool)\n    tp, fp = tp[last], fp[last]\n    recall_gain = torch.diff(tp, prepend=tp.new_zeros(1)) / n_pos\n    return float((recall_gain * w")]),
    mutant(CAP, "no_negative_nan", "no special case without negatives: w = 0 gives 0/0",
           edits=[("    if n_neg == 0:\n        return 1.0\n", "")]),
    mutant(CAP, "per_frame_mean", "averages cPrec over all thresholds instead of weighting by the recall gain",
           edits=[(_CAP_TAIL, "    return float((w * tp / (w * tp + fp)).mean())")]),
    mutant(CAP, "sklearn_weighted", "scikit-learn with sample weights (the exercise asks for tensor code)",
           code='''def calibrated_average_precision(scores, targets):
    import numpy as np
    from sklearn.metrics import average_precision_score
    hit = targets.flatten().bool().numpy()
    n_pos = int(hit.sum())
    if n_pos == 0:
        return float("nan")
    if n_pos == hit.size:
        return 1.0
    w = (hit.size - n_pos) / n_pos
    return float(average_precision_score(hit, scores.detach().double().flatten().numpy(),
                                         sample_weight=np.where(hit, w, 1.0)))
'''),
    # --- mean_ap ---
    mutant(MEAN, "background_in_mean", "counts the background class in the mean",
           edits=[("    actions = per_class[1:]", "    actions = per_class")]),
    mutant(MEAN, "absent_as_zero", "counts a class without positive frames as AP 0",
           edits=[("    present = ~torch.isnan(actions)\n", "    actions = torch.nan_to_num(actions, nan=0.0)\n    present = ~torch.isnan(actions)\n")]),
    mutant(MEAN, "nan_not_skipped", "plain mean: one absent class makes the mean nan",
           edits=[("    mean = float(actions[present].mean()) if present.any() else float(\"nan\")",
                   "    mean = float(actions.mean())")]),
    mutant(MEAN, "calibrated_ignored", "always uses average_precision",
           edits=[("    metric = calibrated_average_precision if calibrated else average_precision",
                   "    metric = average_precision")]),
    mutant(MEAN, "softmax_scores", "turns the scores into probabilities across classes first",
           edits=[("    metric = calibrated_average_precision if calibrated else average_precision",
                   "    metric = calibrated_average_precision if calibrated else average_precision\n    scores = scores.softmax(-1)")]),
    mutant(MEAN, "frame_weighted", "weights each class by its number of positive frames (micro average)",
           edits=[("    mean = float(actions[present].mean()) if present.any() else float(\"nan\")",
                   "    counts = torch.bincount(labels, minlength=scores.shape[1])[1:].to(torch.float64)\n"
                   "    mean = float((actions[present] * counts[present]).sum() / counts[present].sum()) if present.any() else float(\"nan\")")]),
    mutant(MEAN, "hard_predictions", "scores each class with the argmax prediction instead of its score",
           edits=[("    per_class = torch.tensor([metric(scores[:, c], labels == c)",
                   "    per_class = torch.tensor([metric((scores.argmax(-1) == c).double(), labels == c)")]),
    # --- past_windows ---
    mutant(WIN, "future_leak", "one chunk of the future: window t covers t - W + 2 .. t + 1",
           edits=[("    padded = torch.cat([features.new_zeros(B, window - 1, D), features], dim=1)",
                   "    padded = torch.cat([features.new_zeros(B, window - 2, D), features, features.new_zeros(B, 1, D)], dim=1) if window > 1 else features"),
                  ("    real = torch.cat([torch.zeros(window - 1, dtype=torch.bool), torch.ones(T, dtype=torch.bool)])",
                   "    real = torch.cat([torch.zeros(window - 2, dtype=torch.bool), torch.ones(T, dtype=torch.bool), torch.zeros(1, dtype=torch.bool)]) if window > 1 else torch.ones(T, dtype=torch.bool)")]),
    mutant(WIN, "excludes_current", "window t covers t - W .. t - 1: the current chunk is missing",
           edits=[("    padded = torch.cat([features.new_zeros(B, window - 1, D), features], dim=1)",
                   "    padded = torch.cat([features.new_zeros(B, window, D), features[:, :-1]], dim=1)"),
                  ("    real = torch.cat([torch.zeros(window - 1, dtype=torch.bool), torch.ones(T, dtype=torch.bool)])",
                   "    real = torch.cat([torch.zeros(window, dtype=torch.bool), torch.ones(T - 1, dtype=torch.bool)])")]),
    mutant(WIN, "newest_first", "the current chunk first, oldest last",
           edits=[("    return windows, valid", "    return windows.flip(2), valid.flip(2)")]),
    mutant(WIN, "roll_wraps", "shifted copies made with torch.roll: the start of the stream wraps around to its end",
           code='''def past_windows(features, window):
    B, T, D = features.shape
    windows = torch.stack([features.roll(window - 1 - j, dims=1) for j in range(window)], dim=2)
    valid = torch.ones(B, T, window, dtype=torch.bool)
    return windows, valid
'''),
    mutant(WIN, "window_capped_at_stream", "never pads more than the stream is long: a window longer than the "
                                           "stream comes back short",
           edits=[("    padded = torch.cat([features.new_zeros(B, window - 1, D), features], dim=1)",
                   "    window = min(window, T)\n"
                   "    padded = torch.cat([features.new_zeros(B, window - 1, D), features], dim=1)")]),
    mutant(WIN, "valid_inverted", "valid is True on the padding",
           edits=[("    return windows, valid", "    return windows, ~valid")]),
    mutant(WIN, "all_valid", "marks the padding as real chunks",
           edits=[("    return windows, valid", "    return windows, torch.ones_like(valid)")]),
    mutant(WIN, "pad_at_end", "pads after the stream: window t covers t .. t + W - 1",
           edits=[("    padded = torch.cat([features.new_zeros(B, window - 1, D), features], dim=1)",
                   "    padded = torch.cat([features, features.new_zeros(B, window - 1, D)], dim=1)"),
                  ("    real = torch.cat([torch.zeros(window - 1, dtype=torch.bool), torch.ones(T, dtype=torch.bool)])",
                   "    real = torch.cat([torch.ones(T, dtype=torch.bool), torch.zeros(window - 1, dtype=torch.bool)])")]),
    mutant(WIN, "unfold_reshaped", "reshapes unfold's (B, T, D, W) output instead of permuting it",
           edits=[("    windows = padded.unfold(1, window, 1).permute(0, 1, 3, 2)",
                   "    windows = padded.unfold(1, window, 1).reshape(B, T, window, D)")]),
    # --- OadTR ---
    mutant(MODEL, "reads_current_chunk", "readout='task' classifies the current chunk's output: the task token is not read",
           edits=[("        return self.head(self.norm(x[:, -1]))",
                   "        return self.head(self.norm(x[:, L - 1]))")]),
    mutant(MODEL, "token_prepended", "the task token in front (ViT's habit), read at position 0",
           edits=[("            x = torch.cat([x, self.task_token.expand(B, -1, -1)], dim=1) + self.pos_embed\n            valid = torch.cat([valid, valid.new_ones(B, 1)], dim=1)",
                   "            x = torch.cat([self.task_token.expand(B, -1, -1), x], dim=1) + self.pos_embed\n            valid = torch.cat([valid.new_ones(B, 1), valid], dim=1)"),
                  ("        return self.head(self.norm(x[:, -1]))",
                   "        return self.head(self.norm(x[:, 0] if self.readout == 'task' else x[:, -1]))")]),
    mutant(MODEL, "no_position", "never adds the position embeddings",
           edits=[("            x = torch.cat([x, self.task_token.expand(B, -1, -1)], dim=1) + self.pos_embed",
                   "            x = torch.cat([x, self.task_token.expand(B, -1, -1)], dim=1)"),
                  ("            x = x + self.pos_embed[:, :L]", "            x = x")]),
    mutant(MODEL, "mask_ignored", "attends to the padding chunks",
           edits=[("            x = block(x, src_key_padding_mask=~valid)", "            x = block(x)")]),
    mutant(MODEL, "mask_inverted", "passes valid itself as the key padding mask (True = ignore)",
           edits=[("            x = block(x, src_key_padding_mask=~valid)", "            x = block(x, src_key_padding_mask=valid)")]),
    mutant(MODEL, "causal_inside_window", "adds a causal mask inside the window",
           edits=[("            x = block(x, src_key_padding_mask=~valid)",
                   "            x = block(x, src_mask=nn.Transformer.generate_square_subsequent_mask(x.shape[1], dtype=x.dtype), "
                   "src_key_padding_mask=(~valid).to(x.dtype).masked_fill(~valid, float('-inf')))")]),
    mutant(MODEL, "no_final_norm", "no LayerNorm before the head",
           edits=[("        return self.head(self.norm(x[:, -1]))", "        return self.head(x[:, -1])")]),
    mutant(MODEL, "last_keeps_token", "readout='last' still appends the task token and reads it",
           edits=[("        if self.readout == \"task\":\n            x = torch.cat", "        if True:\n            x = torch.cat")]),
    mutant(MODEL, "mean_pool", "classifies the mean of all outputs",
           edits=[("        return self.head(self.norm(x[:, -1]))", "        return self.head(self.norm(x.mean(dim=1)))")]),
    # --- train_detector ---
    mutant(TRAIN, "next_label", "labels each window with the next chunk's label (anticipation by mistake)",
           edits=[("        loss = F.cross_entropy(logits, y.flatten())",
                   "        loss = F.cross_entropy(logits, torch.cat([y[:, 1:], y[:, -1:]], dim=1).flatten())")]),
    mutant(TRAIN, "labels_transposed", "flattens the labels time-major while the windows are batch-major",
           edits=[("        loss = F.cross_entropy(logits, y.flatten())", "        loss = F.cross_entropy(logits, y.T.flatten())")]),
    mutant(TRAIN, "ignores_background", "leaves the background chunks out of the loss",
           edits=[("        loss = F.cross_entropy(logits, y.flatten())", "        loss = F.cross_entropy(logits, y.flatten(), ignore_index=0)")]),
    mutant(TRAIN, "double_softmax", "applies a softmax before cross_entropy",
           edits=[("        loss = F.cross_entropy(logits, y.flatten())", "        loss = F.cross_entropy(logits.softmax(-1), y.flatten())")]),
    mutant(TRAIN, "last_chunk_only", "trains on the last window of each stream only",
           edits=[("        logits = model(w.flatten(0, 1), valid.flatten(0, 1))\n        loss = F.cross_entropy(logits, y.flatten())",
                   "        logits = model(w[:, -1], valid[:, -1])\n        loss = F.cross_entropy(logits, y[:, -1])")]),
    mutant(TRAIN, "no_step", "never calls the optimiser's step",
           edits=[("        opt.step()\n", "")]),
    mutant(TRAIN, "no_zero_grad", "never clears the gradients: they add up over the steps",
           edits=[("        opt.zero_grad()\n", "")]),
    mutant(TRAIN, "summed_loss", "sums the cross-entropy over the chunks",
           edits=[("        loss = F.cross_entropy(logits, y.flatten())", "        loss = F.cross_entropy(logits, y.flatten(), reduction='sum')")]),
]

VARIANTS = [
    # --- average_precision ---
    variant(AP, "per_positive", "for every positive: precision among the frames scored at least as high",
            code='''def average_precision(scores, targets):
    s = scores.detach().double().flatten()
    hit = targets.flatten().bool()
    if not hit.any():
        return float("nan")
    above = s[None, :] >= s[hit][:, None]                 # (P, N): frames at or above each positive
    prec = (above & hit[None, :]).sum(1).double() / above.sum(1).double()
    return prec.mean().item()
'''),
    variant(AP, "unique_counts", "torch.unique on the sorted scores, cumulative sums per group",
            code='''def average_precision(scores, targets):
    s = scores.detach().double().flatten()
    hit = targets.flatten().double()
    P = hit.sum()
    if P == 0:
        return float("nan")
    values, inverse = torch.unique(s, sorted=True, return_inverse=True)
    pos = torch.zeros(len(values), dtype=torch.float64).index_add_(0, inverse, hit).flip(0)
    total = torch.zeros(len(values), dtype=torch.float64).index_add_(0, inverse, torch.ones_like(hit)).flip(0)
    tp, n = pos.cumsum(0), total.cumsum(0)
    return float((pos / P * tp / n).sum())
'''),
    variant(AP, "numpy", "numpy with np.unique and bincount",
            code='''def average_precision(scores, targets):
    s = scores.detach().double().flatten().numpy()
    y = targets.flatten().bool().numpy()
    if y.sum() == 0:
        return float("nan")
    values, inverse = np.unique(-s, return_inverse=True)     # ascending in -s: descending scores
    pos = np.bincount(inverse, weights=y.astype(float), minlength=len(values))
    total = np.bincount(inverse, minlength=len(values))
    tp, n = np.cumsum(pos), np.cumsum(total)
    return float(np.sum(pos / y.sum() * tp / n))
'''),
    # --- calibrated_average_precision ---
    variant(CAP, "fp_over_w", "TP / (TP + FP / w), the same fraction divided by w",
            edits=[(_CAP_TAIL, "    return float((recall_gain * tp / (tp + fp / w)).sum())")]),
    variant(CAP, "weighted_counts", "positives counted with weight w (sample weights), no special case for no negatives",
            code='''def calibrated_average_precision(scores, targets):
    s = scores.detach().double().flatten()
    hit = targets.flatten().bool()
    P, N = int(hit.sum()), hit.numel()
    if P == 0:
        return float("nan")
    if P == N:
        return 1.0
    w = (N - P) / P
    order = torch.argsort(-s)
    s, h = s[order], hit[order]
    keep = torch.cat([s[1:] != s[:-1], torch.tensor([True])])
    wtp = torch.cumsum(h.double() * w, 0)[keep]
    fp = torch.cumsum((~h).double(), 0)[keep]
    gain = torch.diff(wtp, prepend=torch.zeros(1, dtype=torch.float64)) / (w * P)
    return (gain * wtp / (wtp + fp)).sum().item()
'''),
    variant(CAP, "per_positive", "for every positive: calibrated precision among the frames scored at least as high",
            code='''def calibrated_average_precision(scores, targets):
    s = scores.detach().double().flatten()
    hit = targets.flatten().bool()
    P = int(hit.sum())
    if P == 0:
        return float("nan")
    if P == hit.numel():
        return 1.0
    w = (hit.numel() - P) / P
    above = s[None, :] >= s[hit][:, None]
    tp = (above & hit[None, :]).sum(1).double()
    fp = (above & ~hit[None, :]).sum(1).double()
    return (w * tp / (w * tp + fp)).mean().item()
'''),
    # --- mean_ap ---
    variant(MEAN, "nanmean", "torch.nanmean over the action classes",
            edits=[("    present = ~torch.isnan(actions)\n    mean = float(actions[present].mean()) if present.any() else float(\"nan\")",
                    "    mean = torch.nanmean(actions).item()")]),
    variant(MEAN, "loop", "a loop that skips the background and absent classes",
            code='''def mean_ap(scores, labels, calibrated=False):
    per_class, kept = [], []
    for c in range(scores.shape[1]):
        if calibrated:
            value = calibrated_average_precision(scores[:, c], labels == c)
        else:
            value = average_precision(scores[:, c], labels == c)
        per_class.append(value)
        if c != 0 and not math.isnan(value):
            kept.append(value)
    mean = sum(kept) / len(kept) if kept else float("nan")
    return torch.tensor(per_class, dtype=torch.float64), mean
'''),
    variant(MEAN, "numpy_nanmean", "numpy's nanmean, silenced for the all-nan case",
            edits=[("    present = ~torch.isnan(actions)\n    mean = float(actions[present].mean()) if present.any() else float(\"nan\")",
                    "    a = actions.numpy()\n    mean = float(np.nanmean(a)) if not np.isnan(a).all() else float(\"nan\")")]),
    # --- past_windows ---
    variant(WIN, "loop_over_offsets", "one shifted, zero-padded copy per window position",
            code='''def past_windows(features, window):
    B, T, D = features.shape
    cols, masks = [], []
    for j in range(window):
        shift = window - 1 - j                       # how far back position j looks
        col = torch.zeros_like(features)
        col[:, shift:] = features[:, :T - shift] if shift < T else col[:, shift:]
        cols.append(col)
        m = torch.zeros(B, T, dtype=torch.bool)
        m[:, shift:] = True
        masks.append(m)
    return torch.stack(cols, dim=2), torch.stack(masks, dim=2)
'''),
    variant(WIN, "gather_index", "index arithmetic: t - window + 1 + j, clamped, then zeroed",
            code='''def past_windows(features, window):
    B, T, D = features.shape
    idx = torch.arange(T)[:, None] - window + 1 + torch.arange(window)[None, :]     # (T, window)
    valid = idx >= 0
    windows = features[:, idx.clamp(min=0)] * valid[None, :, :, None].to(features.dtype)
    return windows, valid.expand(B, T, window)
'''),
    variant(WIN, "f_pad_loop_over_t", "F.pad, then one slice per time step",
            code='''def past_windows(features, window):
    B, T, D = features.shape
    padded = F.pad(features, (0, 0, window - 1, 0))
    windows = torch.stack([padded[:, t:t + window] for t in range(T)], dim=1)
    valid = F.pad(torch.ones(B, T, dtype=torch.bool), (window - 1, 0))
    valid = torch.stack([valid[:, t:t + window] for t in range(T)], dim=1)
    return windows, valid
'''),
    # --- OadTR ---
    variant(MODEL, "float_mask", "an additive float padding mask (-inf on the padding)",
            edits=[("            x = block(x, src_key_padding_mask=~valid)",
                    "            x = block(x, src_key_padding_mask=torch.zeros(valid.shape, dtype=x.dtype).masked_fill(~valid, float('-inf')))")]),
    variant(MODEL, "repeat_and_index", "repeat() for the token, readout at index L",
            edits=[("            x = torch.cat([x, self.task_token.expand(B, -1, -1)], dim=1) + self.pos_embed",
                    "            x = torch.cat((x, self.task_token.repeat(B, 1, 1)), 1)\n            x = x + self.pos_embed[:, :L + 1]"),
                   ("        return self.head(self.norm(x[:, -1]))",
                    "        h = self.norm(x)\n        return self.head(h[:, L] if self.readout == 'task' else h[:, L - 1])")]),
    variant(MODEL, "sequential_blocks_kwargs", "keyword arguments for the layers, mask as logical_not, F.layer_norm",
            edits=[("            nn.TransformerEncoderLayer(dim, num_heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0,\n"
                    "                                       activation=\"gelu\", batch_first=True, norm_first=True)",
                    "            nn.TransformerEncoderLayer(d_model=dim, nhead=num_heads, dim_feedforward=int(dim * mlp_ratio),\n"
                    "                                       dropout=0.0, activation=F.gelu, batch_first=True, norm_first=True)"),
                   ("            x = block(x, src_key_padding_mask=~valid)",
                    "            x = block(x, src_key_padding_mask=torch.logical_not(valid))"),
                   ("        return self.head(self.norm(x[:, -1]))",
                    "        y = F.layer_norm(x[:, -1], x.shape[-1:], self.norm.weight, self.norm.bias, self.norm.eps)\n"
                    "        return self.head(y)")]),
    # --- train_detector ---
    variant(TRAIN, "bct_loss", "cross-entropy on (B, C, T) logits, model.zero_grad",
            edits=[("        loss = F.cross_entropy(logits, y.flatten())",
                    "        loss = F.cross_entropy(logits.view(*y.shape, -1).permute(0, 2, 1), y)"),
                   ("        opt.zero_grad()", "        model.zero_grad(set_to_none=True)")]),
    variant(TRAIN, "nll_and_clipping", "log_softmax + nll_loss, gradient norm clipped at 1",
            edits=[("        loss = F.cross_entropy(logits, y.flatten())",
                    "        loss = F.nll_loss(F.log_softmax(logits, dim=-1), y.reshape(-1))"),
                   ("        opt.step()\n", "        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        opt.step()\n")]),
    variant(TRAIN, "reshape_and_float", "reshape instead of flatten, float(loss) and a while loop",
            edits=[("    for _ in range(steps):", "    while len(losses) < steps:"),
                   ("        logits = model(w.flatten(0, 1), valid.flatten(0, 1))",
                    "        logits = model(w.reshape(-1, window, w.shape[-1]), valid.reshape(-1, window))"),
                   ("        losses.append(loss.item())", "        losses.append(float(loss))")]),
]
