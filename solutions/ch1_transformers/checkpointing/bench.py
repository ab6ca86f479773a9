"""Benchmark of the gradient-checkpointing exercise (syllabus, chapter 1).

Target: on a deep MLP stack at full size, checkpointing with the reference solution gives
gradients equal to the plain stack's (to 1e-6), keeps fewer saved-activation bytes by
exactly the factor the segment layout predicts, and its recompute time is reported.

Run with ``./course bench checkpointing``. Uses the reference solution from the source
notebook (``autograder.authoring.reference.load``); the block below is test scaffolding, not a
solution.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from autograder.authoring.reference import load
from autograder.benchmarks.run import target


class Block(nn.Module):
    """Residual MLP block x + W2 gelu(W1 x + b1) + b2, hidden width 4d."""

    def __init__(self, d):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x):
        return x + self.fc2(F.gelu(self.fc1(x)))


def plain(blocks, x):
    for b in blocks:
        x = b(x)
    return x


def main():
    ns = load("checkpointing")
    saved_tensor_bytes = ns["saved_tensor_bytes"]
    checkpointed_forward = ns["checkpointed_forward"]
    best_segments = ns["best_segments"]

    n, d, batch = 64, 128, 256
    unit = batch * d                                   # elements in one boundary tensor
    # a block keeps 9 boundary-sized tensors: its input, fc1's output (4x), GELU's output (4x)
    k = best_segments(n, block_bytes=9 * unit, boundary_bytes=unit)
    last = n // k                                      # the last segment is the shortest
    print(f"stack: {n} residual MLP blocks, d={d}, hidden={4 * d}, batch={batch}; best_segments -> k={k}")

    # 1. gradients and saved bytes, float64
    torch.manual_seed(0)
    blocks = nn.ModuleList([Block(d) for _ in range(n)]).double()
    params = list(blocks.parameters())
    x = torch.randn(batch, d, dtype=torch.float64, requires_grad=True)
    out_p, bytes_plain = saved_tensor_bytes(lambda t: plain(blocks, t), x, params=params)
    g_plain = torch.autograd.grad(out_p.sum(), [x, *params])
    del out_p
    out_c, bytes_ckpt = saved_tensor_bytes(lambda t: checkpointed_forward(blocks, t, k), x, params=params)
    g_ckpt = torch.autograd.grad(out_c.sum(), [x, *params])
    max_diff = max((a - b).abs().max().item() for a, b in zip(g_plain, g_ckpt))
    scale = max(a.abs().max().item() for a in g_plain)
    target("checkpointing: gradients equal to the plain stack",
           f"max abs difference {max_diff:.1e} (largest gradient {scale:.1e}), float64, {len(g_plain)} tensors",
           "<= 1e-6", max_diff <= 1e-6)

    expected_plain = (n - 1 + 8 * n) * unit * 8
    expected_ckpt = (k - 2 + 9 * last) * unit * 8
    ratio, expected_ratio = bytes_plain / bytes_ckpt, expected_plain / expected_ckpt
    target("checkpointing: saved activation bytes lower by the expected factor",
           f"{bytes_plain / 2**20:.1f} MiB -> {bytes_ckpt / 2**20:.1f} MiB, {ratio:.2f}x "
           f"(expected {expected_ratio:.2f}x for {k} segments)",
           "bytes equal to the hand count, factor > 5x",
           bytes_plain == expected_plain and bytes_ckpt == expected_ckpt and ratio > 5)

    # 2. recompute time, float32: fastest of several interleaved runs
    torch.manual_seed(0)
    blocks = nn.ModuleList([Block(d) for _ in range(n)])
    params = list(blocks.parameters())
    x = torch.randn(batch, d)

    def step(fn):
        t0 = time.perf_counter()
        torch.autograd.grad(fn(x).sum(), params)
        return time.perf_counter() - t0

    runs = {"plain": lambda t: plain(blocks, t), "ckpt": lambda t: checkpointed_forward(blocks, t, k)}
    best = {name: math.inf for name in (*runs, "forward")}
    for _ in range(7):
        for name, fn in runs.items():
            best[name] = min(best[name], step(fn))
        t0 = time.perf_counter()
        with torch.no_grad():
            plain(blocks, x)
        best["forward"] = min(best["forward"], time.perf_counter() - t0)
    extra = best["ckpt"] / best["plain"] - 1
    recomputed = n - last
    predicted = recomputed / n * best["forward"] / best["plain"]
    target("checkpointing: recompute time reported",
           f"plain step {best['plain'] * 1e3:.0f} ms, checkpointed {best['ckpt'] * 1e3:.0f} ms ({extra:+.0%}); "
           f"recomputing {recomputed}/{n} blocks predicts {predicted:+.0%}",
           "reported", True)


if __name__ == "__main__":
    main()
