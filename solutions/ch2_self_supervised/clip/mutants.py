"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/authoring/variants.py."""
from autograder.authoring.variants import mutant, variant

CLIP, SIG, DUAL, ZS, TRAIN = "clip_loss", "siglip_loss", "DualEncoder", "zero_shot_classify", "train_clip"

_C_LOGITS = "    logits = logit_scale.exp().clamp(max=100) * img @ txt.T       # (N, N): image i against caption j"
_C_RET = "    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2"
_S_LOGITS = "    logits = t_prime.exp() * img @ txt.T + bias"
_S_LABELS = "    labels = 2 * torch.eye(n, dtype=logits.dtype, device=logits.device) - 1"
_S_RET = "    return -F.logsigmoid(labels * logits).sum() / n"
_CLIP_INIT = "            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))"
_T_INIT = "            self.t_prime = nn.Parameter(torch.tensor(math.log(10.0)))"
_B_INIT = "            self.bias = nn.Parameter(torch.tensor(-10.0))"
_CLASS = "            classes.append(F.normalize(mean, dim=-1))"
_SCORES = "        scores = model.encode_image(images) @ torch.stack(classes).T"
_LOOP_LOSS = "        loss = model(images, tokens)"

MUTANTS = [
    # --- clip_loss ---
    mutant(CLIP, "image_to_text_only", "the symmetric term missing: only each image against the captions",
           edits=[(_C_RET, "    return F.cross_entropy(logits, target)")]),
    mutant(CLIP, "exp_then_log", "the log-sum-exp written as log(sum(exp)): overflows at a scale of 100",
           edits=[(_C_RET, "    lse_rows = torch.log(torch.exp(logits).sum(dim=1))\n"
                           "    lse_cols = torch.log(torch.exp(logits).sum(dim=0))\n"
                           "    diag = logits.diagonal()\n"
                           "    return ((lse_rows - diag).mean() + (lse_cols - diag).mean()) / 2")]),
    mutant(CLIP, "divides_by_scale", "the temperature applied the wrong way: divides by exp(t) instead of multiplying",
           edits=[(_C_LOGITS, "    logits = img @ txt.T / logit_scale.exp().clamp(max=100)")]),
    mutant(CLIP, "scale_not_exponentiated", "uses logit_scale itself as the scale (it stores the log)",
           edits=[(_C_LOGITS, "    logits = logit_scale.clamp(max=100) * img @ txt.T")]),
    mutant(CLIP, "no_clamp", "forgets to clip the scale at 100",
           edits=[(_C_LOGITS, "    logits = logit_scale.exp() * img @ txt.T")]),
    mutant(CLIP, "not_normalised", "dot products of the raw embeddings instead of cosine similarities",
           edits=[("    img = F.normalize(img_emb, dim=-1)\n    txt = F.normalize(txt_emb, dim=-1)\n",
                   "    img, txt = img_emb, txt_emb\n")]),
    mutant(CLIP, "wrong_diagonal", "takes the positives on the anti-diagonal",
           edits=[("    target = torch.arange(logits.shape[0], device=logits.device)",
                   "    target = torch.arange(logits.shape[0] - 1, -1, -1, device=logits.device)")]),
    mutant(CLIP, "summed_not_averaged", "adds the two directions instead of averaging them",
           edits=[(_C_RET, "    return F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)")]),
    mutant(CLIP, "mean_over_pairs", "divides the summed cross-entropies by N^2 instead of N",
           edits=[(_C_RET, "    n = logits.shape[0]\n"
                           "    return (F.cross_entropy(logits, target, reduction='sum') + "
                           "F.cross_entropy(logits.T, target, reduction='sum')) / (2 * n * n)")]),
    mutant(CLIP, "same_direction_twice", "log_softmax over the same axis in both terms",
           edits=[(_C_RET, "    lp = logits.log_softmax(dim=1).diagonal()\n"
                           "    return -(lp.mean() + lp.mean()) / 2")]),
    # --- siglip_loss ---
    mutant(SIG, "labels_swapped", "+1 for the negatives and -1 for the positives",
           edits=[(_S_LABELS, "    labels = 1 - 2 * torch.eye(n, dtype=logits.dtype, device=logits.device)")]),
    mutant(SIG, "bias_ignored", "leaves the bias out of the logits",
           edits=[(_S_LOGITS, "    logits = t_prime.exp() * img @ txt.T")]),
    mutant(SIG, "bias_subtracted", "subtracts the bias (the sign of the paper's equation, not of its code)",
           edits=[(_S_LOGITS, "    logits = t_prime.exp() * img @ txt.T - bias")]),
    mutant(SIG, "log_of_sigmoid", "log(sigmoid(u)): sigmoid underflows to 0 and the log gives -inf at large logits",
           edits=[(_S_RET, "    return -torch.log(torch.sigmoid(labels * logits)).sum() / n")]),
    mutant(SIG, "mean_over_pairs", "averages over the N^2 pairs instead of dividing the sum by N",
           edits=[(_S_RET, "    return -F.logsigmoid(labels * logits).mean()")]),
    mutant(SIG, "zero_one_labels", "labels 1 and 0 (BCE targets) used in the +-1 formula",
           edits=[(_S_LABELS, "    labels = torch.eye(n, dtype=logits.dtype, device=logits.device)")]),
    mutant(SIG, "t_not_exponentiated", "uses t_prime itself as the temperature",
           edits=[(_S_LOGITS, "    logits = t_prime * img @ txt.T + bias")]),
    mutant(SIG, "divides_by_t", "divides the similarities by t instead of multiplying",
           edits=[(_S_LOGITS, "    logits = img @ txt.T / t_prime.exp() + bias")]),
    mutant(SIG, "not_normalised", "dot products of the raw embeddings",
           edits=[("    img = F.normalize(img_emb, dim=-1)\n    txt = F.normalize(txt_emb, dim=-1)\n",
                   "    img, txt = img_emb, txt_emb\n")]),
    # --- DualEncoder ---
    mutant(DUAL, "scale_buffer", "stores logit_scale as a buffer: saved, but never trained",
           edits=[(_CLIP_INIT, '            self.register_buffer("logit_scale", torch.tensor(math.log(1 / 0.07)))')]),
    mutant(DUAL, "scale_frozen", "logit_scale a parameter with requires_grad=False: the temperature is not learnable",
           edits=[(_CLIP_INIT, "            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)), requires_grad=False)")]),
    mutant(DUAL, "scale_init_not_log", "initialises logit_scale to 1/0.07 instead of its log",
           edits=[(_CLIP_INIT, "            self.logit_scale = nn.Parameter(torch.tensor(1 / 0.07))")]),
    mutant(DUAL, "scale_init_log_tau", "initialises logit_scale to log(0.07): a temperature of 1/0.07",
           edits=[(_CLIP_INIT, "            self.logit_scale = nn.Parameter(torch.tensor(math.log(0.07)))")]),
    mutant(DUAL, "t_prime_not_log", "initialises t_prime to 10 instead of log 10",
           edits=[(_T_INIT, "            self.t_prime = nn.Parameter(torch.tensor(10.0))")]),
    mutant(DUAL, "bias_positive", "initialises the bias to +10",
           edits=[(_B_INIT, "            self.bias = nn.Parameter(torch.tensor(10.0))")]),
    mutant(DUAL, "bias_plain_tensor", "the bias as a plain tensor attribute: not a parameter, never trained",
           edits=[(_B_INIT, "            self.bias = torch.tensor(-10.0)")]),
    mutant(DUAL, "image_not_normalised", "encode_image returns the raw features",
           edits=[("        return F.normalize(self.image_encoder(images), dim=-1)", "        return self.image_encoder(images)")]),
    mutant(DUAL, "scale_passed_exponentiated", "passes exp(logit_scale) to clip_loss, which exponentiates again",
           edits=[("            return clip_loss(img, txt, self.logit_scale)", "            return clip_loss(img, txt, self.logit_scale.exp())")]),
    # --- zero_shot_classify ---
    mutant(ZS, "no_renormalisation", "the mean of the prompt embeddings is not renormalised",
           edits=[(_CLASS, "            classes.append(mean)")]),
    mutant(ZS, "first_template_only", "uses only the first template",
           edits=[("            prompts = tokenize([template.format(name) for template in templates])",
                   "            prompts = tokenize([templates[0].format(name)])")]),
    mutant(ZS, "argmin", "picks the least similar class",
           edits=[("    return scores.argmax(dim=1), scores", "    return scores.argmin(dim=1), scores")]),
    mutant(ZS, "raw_features", "averages the text encoder's raw features (model.text_encoder), normalising only the mean",
           edits=[("            mean = model.encode_text(prompts).mean(dim=0)", "            mean = model.text_encoder(prompts).mean(dim=0)")]),
    mutant(ZS, "softmax_scores", "returns softmax probabilities over the classes instead of cosines",
           edits=[("    return scores.argmax(dim=1), scores", "    return scores.argmax(dim=1), scores.softmax(dim=1)")]),
    mutant(ZS, "per_image_prompts", "encodes the prompts again for every image",
           edits=[(_SCORES, "        img = model.encode_image(images)\n"
                            "        scores = torch.stack([img[i] @ torch.stack([F.normalize(model.encode_text(tokenize("
                            "[t.format(c) for t in templates])).mean(0), dim=-1) for c in class_names]).T "
                            "for i in range(len(img))])")]),
    # --- train_clip ---
    mutant(TRAIN, "no_zero_grad", "never clears the gradients",
           edits=[("        opt.zero_grad()\n", "")]),
    mutant(TRAIN, "no_step", "never takes the optimiser's step",
           edits=[("        opt.step()\n", "")]),
    mutant(TRAIN, "maximises_loss", "climbs the loss instead of descending it",
           edits=[("        loss.backward()", "        (-loss).backward()")]),
    mutant(TRAIN, "global_generator", "draws the batches from the global generator, not generator(seed)",
           edits=[("        images, tokens, _, _ = caption_batch(x_train, y_train, batch_size, g)",
                   "        images, tokens, _, _ = caption_batch(x_train, y_train, batch_size, None)")]),
    mutant(TRAIN, "generator_every_step", "a new generator every step: the same batch again and again",
           edits=[("        images, tokens, _, _ = caption_batch(x_train, y_train, batch_size, g)",
                   "        images, tokens, _, _ = caption_batch(x_train, y_train, batch_size, generator(seed))")]),
    mutant(TRAIN, "tensor_losses", "returns the loss tensors instead of Python floats",
           edits=[("        losses.append(loss.item())", "        losses.append(loss.detach())")]),
    mutant(TRAIN, "test_data", "trains on the held-out digits",
           edits=[("        images, tokens, _, _ = caption_batch(x_train, y_train, batch_size, g)",
                   "        images, tokens, _, _ = caption_batch(x_test, y_test, batch_size, g)")]),
]

VARIANTS = [
    # --- clip_loss ---
    variant(CLIP, "logsumexp", "log-sum-exp over rows and columns by hand; clamp before exp",
            edits=[(_C_LOGITS, "    logits = torch.clamp(logit_scale, max=math.log(100)).exp() * (img @ txt.T)"),
                   (_C_RET, "    pos = logits.diagonal()\n"
                            "    return 0.5 * (torch.logsumexp(logits, 1) - pos).mean() + 0.5 * (torch.logsumexp(logits, 0) - pos).mean()")]),
    variant(CLIP, "log_softmax", "log_softmax over both axes, by hand normalisation",
            edits=[("    img = F.normalize(img_emb, dim=-1)\n    txt = F.normalize(txt_emb, dim=-1)\n",
                    "    img = img_emb / img_emb.norm(dim=1, keepdim=True)\n    txt = txt_emb / txt_emb.norm(dim=1, keepdim=True)\n"),
                   (_C_RET, "    i2t = -logits.log_softmax(dim=1).diagonal().mean()\n"
                            "    t2i = -logits.log_softmax(dim=0).diagonal().mean()\n"
                            "    return (i2t + t2i) / 2")]),
    variant(CLIP, "two_matrices", "two logit matrices, per-text and per-image, as in the open-source code",
            edits=[(_C_LOGITS, "    scale = torch.minimum(logit_scale.exp(), torch.tensor(100.0, dtype=logit_scale.dtype))\n"
                               "    logits = scale * img @ txt.T\n    logits_per_text = scale * txt @ img.T"),
                   (_C_RET, "    return (F.cross_entropy(logits, target) + F.cross_entropy(logits_per_text, target)) / 2")]),
    # --- siglip_loss ---
    variant(SIG, "bce", "binary cross-entropy with logits against the identity, summed, over N",
            edits=[(_S_RET, "    return F.binary_cross_entropy_with_logits(logits, torch.eye(n, dtype=logits.dtype), "
                            "reduction='sum') / n")]),
    variant(SIG, "softplus", "-log sigmoid(u) = softplus(-u); the mean over rows of the row sums",
            edits=[(_S_RET, "    return F.softplus(-labels * logits).sum(dim=1).mean()")]),
    variant(SIG, "where_labels", "positives and negatives handled separately",
            edits=[(_S_LABELS, "    eye = torch.eye(n, dtype=torch.bool)"),
                   (_S_RET, "    per_pair = torch.where(eye, -F.logsigmoid(logits), -F.logsigmoid(-logits))\n"
                            "    return per_pair.sum() / n")]),
    # --- DualEncoder ---
    variant(DUAL, "log_of_tensor", "initial values computed with torch.log; encode with an explicit norm",
            edits=[(_CLIP_INIT, "            self.logit_scale = nn.Parameter(torch.log(torch.tensor(1 / 0.07)))"),
                   (_T_INIT, "            self.t_prime = nn.Parameter(torch.log(torch.tensor(10.0)))"),
                   ("        return F.normalize(self.text_encoder(tokens), dim=-1)",
                    "        z = self.text_encoder(tokens)\n        return z / z.norm(dim=-1, keepdim=True)")]),
    variant(DUAL, "ones_times", "parameters as ones() times the value; objective stored under another name too",
            edits=[(_B_INIT, "            self.bias = nn.Parameter(-10.0 * torch.ones(()))"),
                   (_CLIP_INIT, "            self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))")]),
    variant(DUAL, "dispatch_dict", "the loss chosen by hasattr",
            edits=[("        if self.objective == \"clip\":\n            return clip_loss(img, txt, self.logit_scale)\n"
                    "        return siglip_loss(img, txt, self.t_prime, self.bias)",
                    "        if hasattr(self, \"logit_scale\"):\n            return clip_loss(img, txt, self.logit_scale)\n"
                    "        return siglip_loss(img, txt, bias=self.bias, t_prime=self.t_prime)")]),
    # --- zero_shot_classify ---
    variant(ZS, "one_call", "all prompts in one call, reshaped (C, K, d)",
            code='''def zero_shot_classify(model, images, templates, class_names=DIGIT_NAMES):
    with torch.no_grad():
        prompts = [t.format(c) for c in class_names for t in templates]
        emb = model.encode_text(tokenize(prompts)).reshape(len(class_names), len(templates), -1)
        classes = F.normalize(emb.mean(1), dim=-1)
        scores = model.encode_image(images) @ classes.T
        return scores.argmax(1), scores
'''),
    variant(ZS, "einsum", "sum over templates and an explicit norm, einsum for the scores",
            edits=[("            mean = model.encode_text(prompts).mean(dim=0)\n" + _CLASS,
                    "            total = model.encode_text(prompts).sum(dim=0)\n"
                    "            classes.append(total / total.norm())"),
                   (_SCORES, "        scores = torch.einsum('nd,cd->nc', model.encode_image(images), torch.stack(classes))")]),
    variant(ZS, "max_indices", "torch.max for the prediction, no_grad as a decorator-free inference_mode",
            edits=[("    with torch.no_grad():", "    with torch.inference_mode():"),
                   ("    return scores.argmax(dim=1), scores", "    return scores.max(dim=1).indices, scores.clone()")]),
    # --- train_clip ---
    variant(TRAIN, "zero_grad_after", "clears the gradients after the step, set_to_none",
            edits=[("        opt.zero_grad()\n        loss.backward()\n        opt.step()\n",
                    "        loss.backward()\n        opt.step()\n        opt.zero_grad(set_to_none=True)\n")]),
    variant(TRAIN, "float_loss", "float(loss); Adam with its default betas spelled out",
            edits=[("        losses.append(loss.item())", "        losses.append(float(loss))"),
                   ("    opt = torch.optim.Adam(model.parameters(), lr=lr)",
                    "    opt = torch.optim.Adam(list(model.parameters()), lr=lr, betas=(0.9, 0.999))")]),
    variant(TRAIN, "model_zero_grad", "model.zero_grad() and a while loop",
            edits=[("    for _ in range(steps):", "    while len(losses) < steps:"),
                   ("        opt.zero_grad()\n", "        model.zero_grad()\n")]),
]
