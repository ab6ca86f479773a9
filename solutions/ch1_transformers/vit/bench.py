"""Benchmark of the ViT exercise (syllabus chapter 1, [target]).

* A ViT with 2x2 patches (16 tokens + the class token) trained from scratch on scikit-learn's
  8x8 digits reaches >= 97% test accuracy, averaged over 3 seeds, above logistic regression
  on the raw pixels, with <= 60 s of CPU training per seed.
* Accuracy against patch size (1, 2, 4, 8), plotted to a PNG under /tmp.

Everything trained here comes from the notebook (``autograder.authoring.reference.load("vit")``):
the reference ViT, and from its locked set-up cell the model size (``VIT_CONFIG``), the epochs
(``FULL_EPOCHS``), ``train`` (AdamW, one-cycle schedule, random affine augmentation; its
defaults are the hyperparameters) and ``accuracy``. This file keeps no copy of them.
Run with ``./course bench vit`` (all cores; timings need a quiet machine).

How the hyperparameters were chosen. The first version (dim 96, depth 2, 4 heads, MLP ratio
2, batch 32, 40 epochs, AdamW lr 3e-3, weight decay 0.05, default augmentation) met the bar
by a hair: test 97.56/96.67/97.11% (mean 97.11%) against 96.89% for logistic regression.
A small search, scored on a validation split (a stratified 25% of the training set,
random_state=1: 1,010 images to train, 337 to validate; seeds 0-2; the test set unused)
with one change at a time; seconds are single-thread process CPU on the 1,010 images:

  config (changes from the first version)               validation %           mean   CPU s
  first version                                         97.63 97.33 98.52     97.82  ~21
  + label smoothing 0.1                                 97.03 97.33 99.11     97.82  ~20
  batch 64, 70 epochs, label smoothing 0.1              97.92 98.52 98.22     98.22  ~34
  dim 64, depth 4, batch 64, 55 epochs, l.s. 0.1        95.55 97.33 98.52     97.13  ~40
  batch 64, 70 epochs, l.s. 0.1, stronger augmentation  97.63 97.63 99.41     98.22  ~37
    (degrees 15, scale 0.15, translate 0.75)
  batch 64, 70 epochs                                   98.22 98.81 97.92     98.32  ~34
  dim 64, depth 3, batch 64, 80 epochs, l.s. 0.1        97.33 98.22 97.03     97.53  ~35

Longer training is what helps (batch 64 makes an epoch ~25% cheaper on the CPU, so 70
epochs cost about what 50 did at batch 32); label smoothing, stronger augmentation and
narrower, deeper models did not. Chosen: the last-but-one row, the simplest. On the test
set, once: seeds 0-4 give 98.22, 98.44, 98.44, 97.11, 97.33% (mean of seeds 0-2 98.37%,
of all five 97.91%); without augmentation the same training gives 97.33, 97.33, 96.89%.
Training takes ~37-40 s of single-thread CPU per seed (~26 s wall with 2 threads on a
quiet 2-core machine).
"""
from __future__ import annotations

import inspect
import os
import time

import torch

from autograder.benchmarks.run import target
from autograder.authoring.reference import load

SEEDS = (0, 1, 2)
PATCH_SIZES = (1, 2, 4, 8)
PLOT = os.environ.get("VIT_BENCH_PLOT", "/tmp/vit_accuracy_vs_patch_size.png")


def run(ns, data, patch_size, seed):
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = ns["ViT"](patch_size=patch_size, **ns["VIT_CONFIG"])
    wall, cpu = time.perf_counter(), time.process_time()
    ns["train"](model, x_train, y_train, epochs=ns["FULL_EPOCHS"], seed=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    acc = ns["accuracy"](model, x_test, y_test)
    print(f"patch {patch_size} seed {seed}: test accuracy {acc:.2%}, training {wall:.1f} s wall, "
          f"{cpu:.1f} s process CPU", flush=True)
    return acc, wall, cpu


def main():
    from sklearn.linear_model import LogisticRegression

    ns = load("vit")
    data = tuple(ns[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    x_train, y_train, x_test, y_test = data
    hyper = {k: p.default for k, p in inspect.signature(ns["train"]).parameters.items()
             if p.default is not p.empty and k != "seed"}
    print(f"torch threads: {torch.get_num_threads()}, {len(x_train)} training and {len(x_test)} test images; "
          f"ViT {ns['VIT_CONFIG']}, {ns['FULL_EPOCHS']} epochs, train {hyper}", flush=True)
    logreg = LogisticRegression(max_iter=5000).fit(x_train.flatten(1).numpy(), y_train.numpy())
    base = logreg.score(x_test.flatten(1).numpy(), y_test.numpy())
    print(f"logistic regression on raw pixels: {base:.2%}", flush=True)

    runs = {p: [] for p in PATCH_SIZES}
    for seed in SEEDS:
        runs[2].append(run(ns, data, 2, seed))
    accs = [a for a, _, _ in runs[2]]
    walls = [w for _, w, _ in runs[2]]
    mean = sum(accs) / len(accs)
    target("ViT 2x2 patches on digits: test accuracy, mean of 3 seeds",
           f"{mean:.2%} (seeds {', '.join(f'{a:.2%}' for a in accs)}); logistic regression {base:.2%}",
           ">= 97% and above logistic regression on raw pixels", mean >= 0.97 and mean > base)
    target("ViT 2x2 patches on digits: CPU training time per seed",
           f"max {max(walls):.1f} s wall (seeds {', '.join(f'{w:.1f}' for w in walls)} s; "
           f"{torch.get_num_threads()} torch threads; process CPU {', '.join(f'{c:.1f}' for _, _, c in runs[2])} s)",
           "<= 60 s", max(walls) <= 60)

    # accuracy against patch size: 3 seeds each, except p = 1 (64 tokens, ~4x the cost): seed 0 only
    for p in PATCH_SIZES:
        for seed in (SEEDS[:1] if p == 1 else SEEDS):
            if p != 2:
                runs[p].append(run(ns, data, p, seed))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    means = [100 * sum(a for a, _, _ in runs[p]) / len(runs[p]) for p in PATCH_SIZES]
    for p in PATCH_SIZES:
        ax.scatter([p] * len(runs[p]), [100 * a for a, _, _ in runs[p]], color="tab:blue", alpha=0.35, s=18)
    ax.plot(PATCH_SIZES, means, "o-", color="tab:blue", label="ViT (mean over seeds; p = 1: one seed)")
    ax.axhline(100 * base, color="gray", ls="--", label="logistic regression, raw pixels")
    ax.set_xscale("log", base=2)
    ax.set_xticks(PATCH_SIZES, [f"{p}\n({(8 // p) ** 2} tokens)" for p in PATCH_SIZES])
    ax.set_xlabel("patch size")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("ViT on 8x8 digits")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=120)
    summary = ", ".join(f"p={p}: {m:.1f}%" for p, m in zip(PATCH_SIZES, means))
    print("accuracy vs patch size:", summary, flush=True)
    target("ViT on digits: accuracy vs patch size plot", f"{PLOT} ({summary})", "a PNG", os.path.exists(PLOT))


if __name__ == "__main__":
    main()
