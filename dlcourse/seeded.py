"""Models whose initial weights depend on a seed only, not on the global random state: the
hidden tests build the same model in the notebook and in the grader and compare them."""
from __future__ import annotations

import torch
import torch.nn as nn


def seeded_mlp(*widths: int, seed: int = 0) -> nn.Sequential:
    """Linear layers of the given widths with ReLUs between them, in nn.Linear's default
    initialisation (uniform in +-1/sqrt(fan_in)) drawn from torch.Generator().manual_seed(seed)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers += [nn.Linear(n_in, n_out)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in layers[::2]:
            bound = layer.in_features ** -0.5
            for t in (layer.weight, layer.bias):
                t.copy_((2 * torch.rand(t.shape, generator=g, dtype=torch.float64) - 1).to(t.dtype) * bound)
    return nn.Sequential(*layers)
