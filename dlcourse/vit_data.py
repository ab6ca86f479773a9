"""Data augmentation for small image batches (used by the ViT exercise, its benchmark and
its explanation page).

A Vision Transformer has almost none of a convolutional network's built-in knowledge of
images, so on a data set as small as scikit-learn's digits it needs augmentation to
generalise. ``random_affine`` draws one small random rotation, scaling and translation
per image and resamples the whole batch at once (``affine_grid`` + ``grid_sample``),
which is much faster on the CPU than transforming images one at a time.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(images: torch.Tensor, *, degrees: float = 10.0, scale: float = 0.1,
                  translate: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random per-image affine transform of a batch ``(B, C, H, W)``.

    Each image is rotated by an angle drawn uniformly in ``[-degrees, degrees]``, scaled by
    a factor in ``[1 - scale, 1 + scale]`` and shifted by up to ``translate`` pixels along
    each axis; pixels that come from outside the image are 0 (the digits' background).
    Bilinear resampling, so sub-pixel shifts are possible. Returns a new tensor of the same
    shape and dtype.
    """
    b, _, h, w = images.shape
    opts = dict(generator=generator, dtype=images.dtype)
    u = lambda *shape: torch.rand(*shape, **opts) * 2 - 1           # uniform in [-1, 1]
    angle = u(b) * degrees * math.pi / 180
    factor = 1 + u(b) * scale
    # affine_grid works in normalised coordinates where the image spans [-1, 1]
    shift = u(b, 2) * translate * torch.tensor([2.0 / w, 2.0 / h], dtype=images.dtype)
    cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
