"""Load an exercise's reference solution from its source notebook (for benchmarks).

The solution notebook is the single source of truth: benchmarks never keep a copy of
solution code. ``load("linear_attention")`` runs the notebook's set-up cell and its
solution cells (not tests, not demos) and returns the resulting namespace.
"""
from __future__ import annotations

from autograder import course


def load(name: str) -> dict:
    return course.exercise(name).reference()
