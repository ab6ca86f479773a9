"""Regenerate every student notebook in ``chapters/`` from ``solutions/``.

Stage each source notebook, run nbgrader's ``generate_assignment`` in a scratch
workspace (never pointed at ``chapters/``: ``--force`` wipes its release folder), then
copy the student notebook next to the chapter's pages.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from autograder import course
from autograder.notebook.workspace import Workspace


def student_notebook(released: Path, source: Path):
    nb = nbformat.read(released, as_version=4)
    src = nbformat.read(source, as_version=4)
    # Jupyter Book's -W build needs both to pick a lexer; keep the author's.
    for key in ("kernelspec", "language_info"):
        nb.metadata[key] = src.metadata[key]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def release(exercises=None, workdir: Path | None = None, write: bool = True) -> dict:
    """Returns {exercise: student notebook}; writes them into chapters/ when ``write``."""
    out = {}
    for ex in exercises or course.exercises():
        # one workspace per exercise: releases of different exercises never share a gradebook
        ws = Workspace((workdir or course.WORK / "release") / ex.name)
        ws.add_source(ex)
        nb = student_notebook(ws.generate(ex), ex.source)
        out[ex] = nb
        if write:
            ex.student.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, ex.student)
    return out
