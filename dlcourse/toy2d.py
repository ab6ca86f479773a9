"""Two-dimensional toy data and a sample-quality metric for the generative-model notebooks.

The energy distance needs thousands of samples to tell a bad sampler from a good one, and
its value for a perfect sampler is not 0 at finite n: compare a model with
:func:`energy_floor`, the expected score of true samples of the same size.
"""
from __future__ import annotations

import math

import torch

NOISE = 0.05    # make_moons' noise, in the unit of the unscaled moons
_SCALE, _SHIFT = 1.5, (0.5, 0.25)


def sample_moons(n: int, g: torch.Generator | None = None, noise: float = NOISE) -> torch.Tensor:
    """n points of two interleaved half circles, centred and scaled to about [-2.3, 2.3] x [-1.3, 1.3].

    Unlike sklearn.datasets.make_moons, the angles are drawn at random, so two calls give
    independent samples (two make_moons draws sit at the same evenly spaced angles, and
    their energy distance is far below that of independent samples). g: a torch.Generator
    (None: the global one)."""
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.rand(n, generator=g) < 0.5
    x = torch.where(upper, torch.cos(t), 1 - torch.cos(t))
    y = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    points = torch.stack([x - _SHIFT[0], y - _SHIFT[1]], dim=1) * _SCALE
    return points + noise * _SCALE * torch.randn(n, 2, generator=g)


def _arc_distance(p: torch.Tensor, centre: tuple, lo: float, hi: float) -> torch.Tensor:
    d = p - torch.tensor(centre, dtype=p.dtype)
    angle = torch.atan2(d[:, 1], d[:, 0]) % (2 * math.pi)
    on_arc = (angle >= lo) & (angle <= hi)
    ends = torch.tensor([[math.cos(lo), math.sin(lo)], [math.cos(hi), math.sin(hi)]], dtype=p.dtype)
    to_end = torch.cdist(d, ends).min(dim=1).values
    return torch.where(on_arc, (d.norm(dim=1) - 1).abs(), to_end)


def moons_distance(x: torch.Tensor) -> torch.Tensor:
    """(N,) distance of each point of x (N, 2) to the noiseless two-moons curve, in x's units."""
    p = x.detach().double() / _SCALE + torch.tensor(_SHIFT, dtype=torch.float64)
    upper = _arc_distance(p, (0.0, 0.0), 0.0, math.pi)
    lower = _arc_distance(p, (1.0, 0.5), math.pi, 2 * math.pi)
    return torch.minimum(upper, lower) * _SCALE


def off_manifold(x: torch.Tensor, k: float = 3.0) -> float:
    """Share of the points farther than k noise standard deviations from the moons' curve
    (about 0.3% of true samples at k = 3)."""
    return (moons_distance(x) > k * NOISE * _SCALE).double().mean().item()


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Squared energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| between two samples
    (N, D) and (M, D), in float64 (V-statistic: positive for two samples of the same law)."""
    x, y = x.detach().double(), y.detach().double()
    return (2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()).item()


def energy_floor(reference: torch.Tensor, n: int, repeats: int = 5, seed: int = 0, sampler=sample_moons) -> float:
    """The score a perfect sampler gets on average: energy_distance of n true samples
    (drawn by sampler(n, g)) against reference, averaged over repeats draws."""
    g = torch.Generator().manual_seed(seed)
    return sum(energy_distance(sampler(n, g), reference) for _ in range(repeats)) / repeats
