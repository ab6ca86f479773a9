"""Figures of explanation pages drawn with an exercise's reference solution.

A page that shows what a trained model does often needs the very code that an exercise asks
for. Such a page draws the figure with ``draw(exercise, figure)`` in a code cell whose input
is removed (cell tag ``remove-input``): the drawing function lives in the exercise's folder
(``figures.py``, a function ``figure(ref)`` taking the reference namespace), runs when the
site is built, and its code never reaches the site.
"""
from __future__ import annotations

import importlib.util

from autograder import course


def draw(exercise: str, figure: str, **kwargs):
    ex = course.exercise(exercise)
    spec = importlib.util.spec_from_file_location(f"{ex.name}_figures", ex.folder / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, figure)(ex.reference(), **kwargs)
