"""Figures of the MAE page (chapters/ch2_self_supervised/masked_autoencoders.md) drawn with
the exercise's reference TinyMAE (autograder/publishing/figures.py): the page cannot show
this code, which is the exercise's answer."""
import time

import matplotlib.pyplot as plt
import torch


def reconstructions(ref, steps=1200, ratios=(0.25, 0.5, 0.75, 0.9)):
    """Train the reference TinyMAE with the masking ratio cycling through ``ratios``, then
    show four held-out digits per ratio: input with hidden patches in grey, output, original."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    P, x_train, x_test = ref["PATCH"], ref["x_train"], ref["x_test"]
    patchify = lambda imgs: ref["patchify"](imgs, P)
    model = ref["TinyMAE"](**ref["MAE_CONFIG"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for step in range(steps):
        batch = x_train[torch.randint(0, len(x_train), (64,), generator=g)]
        loss, _, _ = model(batch, ratios[step % len(ratios)])
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(f"trained in {time.perf_counter() - t0:.0f} s")
    model.eval()
    mean_patch = patchify(x_train).mean(dim=0, keepdim=True)
    fig = plt.figure(figsize=(11, 3.3), layout="constrained")
    for j, (ratio, sub) in enumerate(zip(ratios, fig.subfigures(1, len(ratios), wspace=0.04))):
        torch.manual_seed(1)
        with torch.no_grad():
            err, pred, mask = model(x_test, ratio)
        base = (((patchify(x_test) - mean_patch) ** 2).mean(dim=-1) * mask).sum() / mask.sum()
        keep = (1 - mask)[..., None]
        rows = [ref["unpatchify"](patchify(x_test) * keep + 0.5 * (1 - keep), P),      # hidden patches in grey
                ref["unpatchify"](pred * (1 - keep) + patchify(x_test) * keep, P), x_test]
        axes = sub.subplots(3, 4)
        for r in range(3):
            for c in range(4):
                axes[r, c].imshow(rows[r][c, 0].clamp(0, 1), cmap="gray_r", vmin=0, vmax=1)
                axes[r, c].set_xticks([])
                axes[r, c].set_yticks([])
            if j == 0:
                axes[r, 0].set_ylabel(["input", "output", "original"][r], fontsize=8)
        sub.suptitle(f"{ratio:.0%} masked\nerror {err / base:.0%} of the baseline's", fontsize=9)
        print(f"{ratio:.0%} masked: MAE {err:.4f}, mean-patch baseline {base:.4f}")
    plt.show()
