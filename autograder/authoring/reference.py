"""Load an exercise's reference solution from its source notebook (for benchmarks).

The solution notebook is the single source of truth: benchmarks never keep a copy of
solution code. ``load("linear_attention")`` executes the notebook's locked set-up cells and
its solution cells (not tests, not demos) and returns the resulting namespace.
"""
from __future__ import annotations

import nbformat

from autograder.notebook import cells as C
from autograder import course


def load(name: str) -> dict:
    ex = course.exercise(name)
    nb = nbformat.read(ex.source, as_version=4)
    ns = {"__name__": f"reference_{name}"}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        setup = C.meta(cell).get("locked") and not C.is_graded(cell) and not C.is_check(cell)
        if setup or C.is_solution(cell):
            exec(compile(C.solution_body(cell.source), f"<{name} cell {i}>", "exec"), ns)
    return ns
