"""Notebook transforms shared by release, grading, timing and the contract check: the install
cell, staging for nbgrader, solutions filled in, cells a learner added above the set-up
dropped. Those that run in a pipeline beside nbconvert's and nbgrader's own are
preprocessors (``AddInstallCell``, ``FillSolutions``); cell roles come from ``cells``
(nbgrader's own ``utils`` underneath). Neutralising a crashing cell is salvage's policy and
lives there."""
from __future__ import annotations

import nbformat
from nbconvert.preprocessors import Preprocessor

from autograder import course
from autograder.notebook import cells as C


def install_cell_source() -> str:
    url, branch = course.repository()
    return f'''\
# Set-up. Inside the course repository this cell does nothing. Anywhere
# else (Colab, Binder, a laptop) it installs the course's helper library,
# dlcourse, and nothing else: PyTorch must be there already (Colab has
# it; for a laptop see the course README).
import importlib, importlib.util, pathlib, subprocess, sys

if importlib.util.find_spec("dlcourse") is None:
    _cwd = pathlib.Path.cwd().resolve()
    _repo = [p for p in [_cwd, *_cwd.parents]
             if (p / "dlcourse" / "__init__.py").is_file()]
    if _repo:  # a clone of the course, started without its set-up
        sys.path.insert(0, str(_repo[0]))
    else:
        _url = "git+{url}@{branch}"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        f"dlcourse @ {{_url}}"], check=True)
        importlib.invalidate_caches()'''


def install_cell():
    cell = nbformat.v4.new_code_cell(install_cell_source())
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "install", "locked": True, "schema_version": 3,
                                 "solution": False, "task": False}
    cell.metadata["tags"] = ["install"]
    return cell


def with_install_cell(nb):
    """The notebook with the install cell before its first code cell (replacing an old one)."""
    cells = [c for c in nb.cells if (c.get("metadata", {}).get("nbgrader", {}).get("grade_id")) != "install"]
    first = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    nb.cells = cells[:first] + [install_cell()] + cells[first:]
    return nb


def staged(ex: course.Exercise):
    """The source notebook as nbgrader gets it: exercise.toml's points on the graded cells
    (``Exercise.nb``), the install cell first. Hidden tests live in ``hidden_tests.py`` and
    run in the judge, so the staged notebook (and the gradebook's copy of it) holds no
    reference and no test code beyond the solution notebook's own."""
    return with_install_cell(ex.copy_nb())


def drop_cells_above_setup(nb) -> int:
    """Remove code cells a learner added above the locked set-up cell (code there would run
    before the course's own set-up); returns how many."""
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    setup = next((i for i in code if C.is_setup(nb.cells[i])),
                 next((i for i in code if C.is_locked(nb.cells[i])), 0))
    dropped = {i for i in code if i < setup and not C.is_locked(nb.cells[i])}
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in dropped]
    return len(dropped)


class AddInstallCell(Preprocessor):
    """The install cell first: every notebook a learner gets starts with it."""

    def preprocess(self, nb, resources):
        return with_install_cell(nb), resources


class FillSolutions(Preprocessor):
    """Solution cells hold the full reference, markers dropped (the timed notebook)."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if C.is_solution(cell):
                cell.source = C.solution_body(cell.source)
        return nb, resources
