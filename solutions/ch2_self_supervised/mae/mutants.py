"""Wrong answers a learner might write (each must lose exactly its item's points) and
correct answers written differently (each must get full marks). See autograder/authoring/variants.py."""
from autograder.authoring.variants import mutant, variant

PATCH, MASK, UNSHUF, LOSS, MODEL, TRAIN = "patchify", "random_masking", "unshuffle", "mae_loss", "TinyMAE", "train_mae"

MUTANTS = [
    # --- patchify / unpatchify ---
    mutant(PATCH, "channel_first", "orders each patch's values (channel, row, column), as F.unfold does",
           edits=[('x = torch.einsum("nchpwq->nhwpqc", x)', 'x = torch.einsum("nchpwq->nhwcpq", x)')]),
    mutant(PATCH, "columns_first", "reads each patch column by column",
           edits=[('x = torch.einsum("nchpwq->nhwpqc", x)', 'x = torch.einsum("nchpwq->nhwqpc", x)')]),
    mutant(PATCH, "grid_column_major", "numbers the patches column by column over the grid",
           edits=[('x = torch.einsum("nchpwq->nhwpqc", x)', 'x = torch.einsum("nchpwq->nwhpqc", x)')]),
    mutant(PATCH, "plain_reshape", "reshapes the image to (N, L, p*p*C) without moving any axis: rows of pixels, not patches",
           edits=[('x = imgs.reshape(N, C, h, p, w, p)\n    x = torch.einsum("nchpwq->nhwpqc", x)\n    return x.reshape(N, h * w, p * p * C)',
                   'return imgs.reshape(N, h * w, p * p * C)')]),
    mutant(PATCH, "unpatchify_transposed", "unpatchify swaps the grid's rows and columns: the image comes back transposed",
           edits=[('x = torch.einsum("nhwpqc->nchpwq", x)', 'x = torch.einsum("nhwpqc->ncwqhp", x)')]),
    mutant(PATCH, "unpatchify_channels_last", "unpatchify returns (N, H, W, C)",
           edits=[('x = torch.einsum("nhwpqc->nchpwq", x)\n    return x.reshape(N, channels, h * p, w * p)',
                   'x = torch.einsum("nhwpqc->nhpwqc", x)\n    return x.reshape(N, h * p, w * p, channels)')]),
    mutant(PATCH, "unpatchify_plain_reshape", "unpatchify reshapes back without undoing the permutation",
           edits=[('x = x.reshape(N, h, w, p, p, channels)\n    x = torch.einsum("nhwpqc->nchpwq", x)\n', '')]),
    # --- random_masking ---
    mutant(MASK, "one_mask_per_batch", "draws one row of noise and shares it across the batch",
           edits=[("noise = torch.rand(N, L, device=x.device)", "noise = torch.rand(1, L, device=x.device).expand(N, L)")]),
    mutant(MASK, "first_row_for_all", "sorts the noise of the first image only and uses it for every image",
           edits=[("ids_shuffle = torch.argsort(noise, dim=1)", "ids_shuffle = torch.argsort(noise[:1], dim=1).expand(N, L)")]),
    mutant(MASK, "restore_is_shuffle", "uses ids_shuffle as ids_restore (the permutation, not its inverse)",
           edits=[("ids_restore = torch.argsort(ids_shuffle, dim=1)", "ids_restore = ids_shuffle")]),
    mutant(MASK, "restore_from_noise_descending", "takes ids_restore as argsort of the noise in descending order",
           edits=[("ids_restore = torch.argsort(ids_shuffle, dim=1)", "ids_restore = torch.argsort(noise, dim=1, descending=True)")]),
    mutant(MASK, "mask_meaning_swapped", "marks kept patches with 1 and removed ones with 0",
           edits=[("mask = torch.ones(N, L, dtype=x.dtype, device=x.device)\n    mask[:, :len_keep] = 0",
                   "mask = torch.zeros(N, L, dtype=x.dtype, device=x.device)\n    mask[:, :len_keep] = 1")]),
    mutant(MASK, "mask_in_shuffled_order", "returns the mask in shuffled order (forgets to gather it with ids_restore)",
           edits=[("    mask = torch.gather(mask, 1, ids_restore)           # back to image order\n", "")]),
    mutant(MASK, "keep_count_rounded_up", "keeps L - int(L * mask_ratio) patches (rounds the kept count up)",
           edits=[("len_keep = int(L * (1 - mask_ratio))", "len_keep = L - int(L * mask_ratio)")]),
    mutant(MASK, "keep_count_is_masked_count", "keeps int(L * mask_ratio) patches: the masked fraction is kept",
           edits=[("len_keep = int(L * (1 - mask_ratio))", "len_keep = int(L * mask_ratio)")]),
    mutant(MASK, "keeps_largest_noise", "keeps the patches with the largest noise",
           edits=[("ids_keep = ids_shuffle[:, :len_keep]", "ids_keep = ids_shuffle[:, L - len_keep:]")]),
    mutant(MASK, "gather_first_feature", "gathers with the index unexpanded: keeps only the first feature",
           edits=[("torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, D))", "torch.gather(x, 1, ids_keep.unsqueeze(-1))")]),
    # --- unshuffle ---
    mutant(UNSHUF, "gather_with_ids_shuffle", "gathers with the shuffle (argsort of ids_restore) instead of ids_restore",
           edits=[("return torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))",
                   "return torch.gather(x, 1, torch.argsort(ids_restore, dim=1).unsqueeze(-1).expand(-1, -1, D))")]),
    mutant(UNSHUF, "scatter_with_ids_restore", "scatters with ids_restore: applies the inverse permutation",
           edits=[("return torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))",
                   "return torch.zeros_like(x).scatter(1, ids_restore.unsqueeze(-1).expand(-1, -1, D), x)")]),
    mutant(UNSHUF, "mask_tokens_first", "puts the mask tokens before the visible tokens",
           edits=[("x = torch.cat([visible, mask_token.reshape(1, 1, D).expand(N, L - K, D)], dim=1)",
                   "x = torch.cat([mask_token.reshape(1, 1, D).expand(N, L - K, D), visible], dim=1)")]),
    mutant(UNSHUF, "zeros_for_masked", "fills the removed positions with zeros instead of the mask token",
           edits=[("mask_token.reshape(1, 1, D).expand(N, L - K, D)", "visible.new_zeros(N, L - K, D)")]),
    mutant(UNSHUF, "mask_token_detached", "inserts the mask token detached: it never learns",
           edits=[("mask_token.reshape(1, 1, D).expand(N, L - K, D)", "mask_token.detach().reshape(1, 1, D).expand(N, L - K, D)")]),
    mutant(UNSHUF, "no_restore", "returns the sequence in shuffled order (forgets the gather)",
           edits=[("return torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))", "return x")]),
    # --- mae_loss ---
    mutant(LOSS, "all_patches", "averages the error over all patches, visible ones included",
           edits=[("return (per_patch * mask).sum() / mask.sum()", "return per_patch.mean()")]),
    mutant(LOSS, "norm_pix_ignored", "ignores norm_pix: always the raw pixels as the target",
           edits=[("    if norm_pix:\n", "    if False:\n")]),
    mutant(LOSS, "visible_patches", "reads the mask the wrong way round: the loss on the visible patches",
           edits=[("return (per_patch * mask).sum() / mask.sum()", "return (per_patch * (1 - mask)).sum() / (1 - mask).sum()")]),
    mutant(LOSS, "biased_variance", "normalises with the biased variance (divides by D, not D - 1)",
           edits=[("var = target.var(dim=-1, keepdim=True)", "var = target.var(dim=-1, keepdim=True, unbiased=False)")]),
    mutant(LOSS, "no_epsilon", "divides by the standard deviation without the 1e-6: NaN on blank patches",
           edits=[("(var + 1e-6) ** 0.5", "var ** 0.5")]),
    mutant(LOSS, "divide_by_all", "sums the masked errors but divides by the number of all patches",
           edits=[("return (per_patch * mask).sum() / mask.sum()", "return (per_patch * mask).sum() / mask.numel()")]),
    mutant(LOSS, "sum_over_pixels", "sums the squared errors over each patch's values instead of averaging",
           edits=[("per_patch = ((pred - target) ** 2).mean(dim=-1)", "per_patch = ((pred - target) ** 2).sum(dim=-1)")]),
    mutant(LOSS, "image_statistics", "normalises with the mean and variance of the whole image, not of each patch",
           edits=[("mean = target.mean(dim=-1, keepdim=True)\n        var = target.var(dim=-1, keepdim=True)",
                   "mean = target.mean(dim=(1, 2), keepdim=True)\n        var = target.var(dim=(1, 2), keepdim=True)")]),
    # --- TinyMAE ---
    mutant(MODEL, "encoder_full_length", "zeroes the removed tokens and runs the encoder on all L positions, then "
                                         "keeps the visible outputs",
           edits=[("x, mask, ids_keep, ids_restore = random_masking(x, mask_ratio, noise)\n        for block in self.blocks:\n"
                   "            x = block(x)\n",
                   "_, mask, ids_keep, ids_restore = random_masking(x, mask_ratio, noise)\n        x = x * (1 - mask)[..., None]\n"
                   "        for block in self.blocks:\n            x = block(x)\n"
                   "        x = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, x.shape[-1]))\n")]),
    mutant(MODEL, "encoder_sees_everything", "runs the encoder on all patches and masks its output",
           edits=[("x, mask, ids_keep, ids_restore = random_masking(x, mask_ratio, noise)\n        for block in self.blocks:\n"
                   "            x = block(x)\n",
                   "for block in self.blocks:\n            x = block(x)\n"
                   "        x, mask, ids_keep, ids_restore = random_masking(x, mask_ratio, noise)\n")]),
    mutant(MODEL, "positions_after_masking", "adds the first len_keep position embeddings after masking: kept tokens "
                                             "get the wrong positions",
           edits=[("x = self.patch_embed(patchify(imgs, self.patch_size)) + self.pos_embed\n"
                   "        x, mask, ids_keep, ids_restore = random_masking(x, mask_ratio, noise)\n",
                   "x = self.patch_embed(patchify(imgs, self.patch_size))\n"
                   "        x, mask, ids_keep, ids_restore = random_masking(x, mask_ratio, noise)\n"
                   "        x = x + self.pos_embed[:, :x.shape[1]]\n")]),
    mutant(MODEL, "no_decoder_positions", "forgets the decoder's position embeddings",
           edits=[("        x = x + self.decoder_pos_embed\n", "")]),
    mutant(MODEL, "no_encoder_norm", "forgets the encoder's final LayerNorm",
           edits=[("return self.norm(x), mask, ids_restore", "return x, mask, ids_restore")]),
    mutant(MODEL, "norm_pix_not_passed", "calls mae_loss without norm_pix",
           edits=[("mask, norm_pix=self.norm_pix)", "mask)")]),
    mutant(MODEL, "noise_not_passed", "does not pass noise on to random_masking",
           edits=[("random_masking(x, mask_ratio, noise)", "random_masking(x, mask_ratio)")]),
    mutant(MODEL, "no_decoder_embed", "skips decoder_embed and maps the latent with decoder_pred's input width "
                                      "by slicing",
           edits=[("x = unshuffle(self.decoder_embed(latent), self.mask_token, ids_restore)",
                   "x = unshuffle(latent[..., :self.mask_token.shape[0]], self.mask_token, ids_restore)")]),
    # --- train_mae ---
    mutant(TRAIN, "no_zero_grad", "never zeroes the gradients: they pile up over the steps",
           edits=[("        opt.zero_grad()\n", "")]),
    mutant(TRAIN, "step_before_backward", "calls the optimiser step before backward",
           edits=[("opt.zero_grad()\n        loss.backward()\n        opt.step()", "opt.zero_grad()\n        opt.step()\n        loss.backward()")]),
    mutant(TRAIN, "one_batch", "draws one batch before the loop and trains on it only",
           edits=[("    for _ in range(steps):\n        idx = torch.randint(0, len(images), (batch_size,), generator=g)\n",
                   "    idx = torch.randint(0, len(images), (batch_size,), generator=g)\n    for _ in range(steps):\n")]),
    mutant(TRAIN, "sgd", "plain SGD at AdamW's learning rate: far too slow",
           edits=[("opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)",
                   "opt = torch.optim.SGD(model.parameters(), lr=lr)")]),
    mutant(TRAIN, "no_masking", "trains with mask_ratio 0: nothing is hidden, the loss has no patch to count",
           edits=[("loss, _, _ = model(images[idx], mask_ratio)", "loss, _, _ = model(images[idx], 0.0)")]),
    mutant(TRAIN, "tensor_losses", "returns the loss tensors instead of floats",
           edits=[("losses.append(loss.item())", "losses.append(loss.detach())")]),
    mutant(TRAIN, "same_images_each_step", "draws the batch indices with a fresh generator every step: the same batch",
           edits=[("idx = torch.randint(0, len(images), (batch_size,), generator=g)",
                   "idx = torch.randint(0, len(images), (batch_size,), generator=generator(seed))")]),
]

VARIANTS = [
    # --- patchify / unpatchify ---
    variant(PATCH, "permute", "permute and reshape instead of einsum",
            edits=[('x = torch.einsum("nchpwq->nhwpqc", x)', "x = x.permute(0, 2, 4, 3, 5, 1)"),
                   ('x = torch.einsum("nhwpqc->nchpwq", x)', "x = x.permute(0, 5, 1, 3, 2, 4)")]),
    variant(PATCH, "unfold", "Tensor.unfold twice, then the channel axis moved last",
            edits=[('x = imgs.reshape(N, C, h, p, w, p)\n    x = torch.einsum("nchpwq->nhwpqc", x)\n    return x.reshape(N, h * w, p * p * C)',
                    "x = imgs.unfold(2, p, p).unfold(3, p, p)          # (N, C, h, w, p, p)\n"
                    "    return x.permute(0, 2, 3, 4, 5, 1).reshape(N, h * w, p * p * C)")]),
    variant(PATCH, "unpatchify_by_index", "unpatchify fills an empty image patch by patch",
            edits=[('x = x.reshape(N, h, w, p, p, channels)\n    x = torch.einsum("nhwpqc->nchpwq", x)\n    return x.reshape(N, channels, h * p, w * p)',
                    "out = x.new_zeros(N, channels, h * p, w * p) + 0 * x.sum()\n"
                    "    for k in range(L):\n        r, c = divmod(k, w)\n"
                    "        out[:, :, r * p:(r + 1) * p, c * p:(c + 1) * p] = x[:, k].reshape(N, p, p, channels).permute(0, 3, 1, 2)\n"
                    "    return out")]),
    # --- random_masking ---
    variant(MASK, "scatter_restore", "ids_restore by scattering positions; x_visible by advanced indexing",
            edits=[("ids_restore = torch.argsort(ids_shuffle, dim=1)     # the inverse permutation",
                    "ids_restore = torch.empty_like(ids_shuffle).scatter_(1, ids_shuffle, torch.arange(L, device=x.device).expand(N, L).contiguous())"),
                   ("x_visible = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, D))",
                    "x_visible = x[torch.arange(N, device=x.device)[:, None], ids_keep]")]),
    variant(MASK, "mask_from_restore", "the mask as ids_restore >= len_keep; take_along_dim; math.floor",
            edits=[("len_keep = int(L * (1 - mask_ratio))", "len_keep = math.floor(L * (1 - mask_ratio))"),
                   ("x_visible = torch.gather(x, 1, ids_keep.unsqueeze(-1).expand(-1, -1, D))",
                    "x_visible = torch.take_along_dim(x, ids_keep[..., None], dim=1)"),
                   ("mask = torch.ones(N, L, dtype=x.dtype, device=x.device)\n    mask[:, :len_keep] = 0\n"
                    "    mask = torch.gather(mask, 1, ids_restore)           # back to image order",
                    "mask = (ids_restore >= len_keep).to(x.dtype)")]),
    variant(MASK, "scatter_mask", "the mask by scattering zeros at ids_keep; sort instead of argsort",
            edits=[("ids_shuffle = torch.argsort(noise, dim=1)           # ascending: small noise is kept",
                    "ids_shuffle = torch.sort(noise, dim=1).indices"),
                   ("mask = torch.ones(N, L, dtype=x.dtype, device=x.device)\n    mask[:, :len_keep] = 0\n"
                    "    mask = torch.gather(mask, 1, ids_restore)           # back to image order",
                    "mask = torch.ones(N, L, dtype=x.dtype, device=x.device).scatter(1, ids_keep, 0.0)")]),
    # --- unshuffle ---
    variant(UNSHUF, "scatter_with_shuffle", "scatters the shuffled sequence to the positions argsort(ids_restore)",
            edits=[("return torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))",
                    "ids_shuffle = torch.argsort(ids_restore, dim=1).unsqueeze(-1).expand(-1, -1, D)\n"
                    "    return torch.zeros_like(x).scatter(1, ids_shuffle, x)")]),
    variant(UNSHUF, "advanced_indexing", "advanced indexing with a batch index; repeat for the mask tokens",
            edits=[("mask_token.reshape(1, 1, D).expand(N, L - K, D)", "mask_token.repeat(N, L - K, 1)"),
                   ("return torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))",
                    "return x[torch.arange(N)[:, None], ids_restore]")]),
    variant(UNSHUF, "where_by_position", "fills by position: each position takes its visible token or the mask token",
            edits=[("x = torch.cat([visible, mask_token.reshape(1, 1, D).expand(N, L - K, D)], dim=1)\n"
                    "    return torch.gather(x, 1, ids_restore.unsqueeze(-1).expand(-1, -1, D))",
                    "slot = ids_restore.clamp(max=K - 1) if K else ids_restore * 0\n"
                    "    picked = torch.take_along_dim(visible, slot[..., None], dim=1) if K else visible.new_zeros(N, L, D)\n"
                    "    return torch.where((ids_restore < K)[..., None], picked, mask_token.expand(N, L, D))")]),
    # --- mae_loss ---
    variant(LOSS, "boolean_index", "selects the masked patches with a boolean index",
            edits=[("return (per_patch * mask).sum() / mask.sum()", "return per_patch[mask.bool()].mean()")]),
    variant(LOSS, "mse_loss_var_mean", "F.mse_loss without reduction; torch.var_mean; rsqrt",
            edits=[("mean = target.mean(dim=-1, keepdim=True)\n        var = target.var(dim=-1, keepdim=True)",
                    "var, mean = torch.var_mean(target, dim=-1, keepdim=True)"),
                   ("target = (target - mean) / (var + 1e-6) ** 0.5", "target = (target - mean) * torch.rsqrt(var + 1e-6)"),
                   ("per_patch = ((pred - target) ** 2).mean(dim=-1)", "per_patch = F.mse_loss(pred, target, reduction='none').mean(dim=-1)")]),
    variant(LOSS, "einsum_weights", "weights the errors with the normalised mask",
            edits=[("return (per_patch * mask).sum() / mask.sum()", "weights = mask / mask.sum()\n    return torch.einsum('nl,nl->', per_patch, weights)")]),
    # --- TinyMAE ---
    variant(MODEL, "sequential_blocks", "runs the blocks with functools.reduce; embeds after patchify in two lines",
            edits=[("x = self.patch_embed(patchify(imgs, self.patch_size)) + self.pos_embed",
                    "patches = patchify(imgs, self.patch_size)\n        x = self.pos_embed + self.patch_embed(patches)"),
                   ("        for block in self.blocks:\n            x = block(x)\n        return self.norm(x), mask, ids_restore",
                    "        import functools\n        x = functools.reduce(lambda h, blk: blk(h), self.blocks, x)\n"
                    "        return self.norm(x), mask, ids_restore")]),
    variant(MODEL, "expanded_positions", "expands the position embeddings to the batch; keyword arguments",
            edits=[("        x = x + self.decoder_pos_embed\n", "        x = x + self.decoder_pos_embed.expand(x.shape[0], -1, -1)\n"),
                   ("random_masking(x, mask_ratio, noise)", "random_masking(x, mask_ratio=mask_ratio, noise=noise)")]),
    variant(MODEL, "target_first", "computes the target before the encoder; enumerate over the decoder blocks",
            edits=[("        latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio, noise)\n",
                    "        target = patchify(imgs, self.patch_size)\n        latent, mask, ids_restore = self.forward_encoder(imgs, mask_ratio, noise)\n"),
                   ("loss = mae_loss(pred, patchify(imgs, self.patch_size), mask, norm_pix=self.norm_pix)",
                    "loss = mae_loss(pred, target, mask, self.norm_pix)"),
                   ("        for block in self.decoder_blocks:\n            x = block(x)\n",
                    "        for i, block in enumerate(self.decoder_blocks):\n            x = self.decoder_blocks[i](x)\n")]),
    # --- train_mae ---
    variant(TRAIN, "adam", "Adam instead of AdamW (no weight decay either way); set_to_none",
            edits=[("opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)",
                    "opt = torch.optim.Adam(model.parameters(), lr=lr)"),
                   ("opt.zero_grad()", "opt.zero_grad(set_to_none=True)")]),
    variant(TRAIN, "epochs", "shuffled passes over the data instead of independent draws",
            edits=[("    for _ in range(steps):\n        idx = torch.randint(0, len(images), (batch_size,), generator=g)\n",
                    "    order, pos = torch.randperm(len(images), generator=g), 0\n    for _ in range(steps):\n"
                    "        if pos + batch_size > len(order):\n            order, pos = torch.randperm(len(images), generator=g), 0\n"
                    "        idx = order[pos:pos + batch_size]\n        pos += batch_size\n")]),
    variant(TRAIN, "clipped", "clips the gradient norm at 1 before the step",
            edits=[("        loss.backward()\n        opt.step()",
                    "        loss.backward()\n        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        opt.step()")]),
]
