"""Roles of the cells of an exercise notebook, read from nbgrader's metadata.

Conventions (docs: README, "Writing an exercise"):

* solution cell   ``solution: true``, ``grade_id = <item>``: the code the learner writes,
  between ``### BEGIN SOLUTION`` / ``### END SOLUTION``.
* visible check   locked, not graded, ``grade_id = check_<item>``: quick sanity tests.
* graded cell     locked, graded, ``grade_id = test_<item>``: only ``judge_cell(...)``, a call
  of the grading agent. Its hidden tests are the function ``test_<item>`` in the exercise's
  ``hidden_tests.py``, run by the judge outside the notebook (``autograder/judge``).
* written answer  a markdown cell, ``solution: true, grade: true``, ``grade_id = written_<topic>``:
  a short answer in words, graded by hand in formgrader. In the source notebook it holds the
  model answer and its rubric; nbgrader's ClearSolutions replaces it in the student notebook.
  It is not an item: it has no checks, hidden tests or mutants, and is never executed.

Points of graded cells and written answers come from ``exercise.toml`` (``graded_item``).
"""
from __future__ import annotations

import dataclasses

import nbformat
from nbgrader import utils as nbgrader_utils

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"


def judge_cell(grade_id: str) -> str:
    """The whole source of a graded cell: it hands the notebook to the judge."""
    return ("# Hidden tests: when the notebook is graded, the grader calls your code from outside\n"
            "# the notebook and compares it with a reference on many inputs (nothing to do here).\n"
            "from dlcourse.agent import serve\n"
            f"serve({grade_id!r})")


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return meta(cell).get("grade_id")


def is_solution(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_utils.is_solution(cell))


def is_graded(cell) -> bool:
    return cell.cell_type == "code" and bool(nbgrader_utils.is_grade(cell))


def is_written(cell) -> bool:
    """A written answer graded by hand (nbgrader's manually graded answer cell)."""
    return cell.cell_type == "markdown" and bool(meta(cell).get("solution")) and bool(meta(cell).get("grade"))


def is_locked(cell) -> bool:
    """Read-only for the learner: nbgrader restores it before grading."""
    return bool(nbgrader_utils.is_locked(cell))


def is_check(cell) -> bool:
    gid = grade_id(cell) or ""
    return cell.cell_type == "code" and gid.startswith("check_") and not is_graded(cell)


def item_of(gid: str, items: list[str]) -> str | None:
    """Item a ``check_``/``test_`` cell belongs to (longest matching item name wins)."""
    for prefix in ("test_", "check_"):
        if gid.startswith(prefix):
            rest = gid[len(prefix):]
            hits = [i for i in items if rest == i or rest.startswith(i + "_")]
            return max(hits, key=len) if hits else None
    return None


@dataclasses.dataclass
class Layout:
    """The code parts (what the judge scores) and, apart, the written answers (by hand)."""
    items: list[str]                 # solution grade_ids in notebook order
    points: dict[str, float]         # grade_id of each graded code cell -> points
    owner: dict[str, str]            # grade_id of each check/test cell -> item
    written: dict[str, float] = dataclasses.field(default_factory=dict)  # written answer -> points

    def item_points(self, item: str) -> float:
        return sum(p for gid, p in self.points.items() if self.owner.get(gid) == item)

    @property
    def total(self) -> float:
        """Points of the code parts; the written answers' are ``written_total``."""
        return sum(self.points.values())

    @property
    def written_total(self) -> float:
        return sum(self.written.values())


def layout(nb) -> Layout:
    items = [grade_id(c) for c in nb.cells if is_solution(c)]
    points, owner, written = {}, {}, {}
    for c in nb.cells:
        gid = grade_id(c)
        if is_written(c):
            written[gid] = float(meta(c).get("points", 0))
        if is_graded(c):
            points[gid] = float(meta(c).get("points", 0))
        if is_graded(c) or is_check(c):
            it = item_of(gid, items)
            if it is not None:
                owner[gid] = it
    return Layout(items, points, owner, written)


class NotebookError(ValueError):
    """A course notebook breaks the cell conventions (the command line prints it as one line)."""


def _marker_problem(source: str) -> str | None:
    """What is wrong with the pairing of the solution markers of a cell, or None."""
    begun = None   # line number of the open BEGIN
    for n, line in enumerate(source.splitlines(), 1):
        s = line.strip()
        if s == BEGIN_SOLUTION:
            if begun is not None:
                return f"'{BEGIN_SOLUTION}' on line {n}, but the one on line {begun} has no '{END_SOLUTION}' yet"
            begun = n
        elif s == END_SOLUTION:
            if begun is None:
                return f"'{END_SOLUTION}' on line {n} has no '{BEGIN_SOLUTION}' before it"
            begun = None
    if begun is not None:
        return f"'{BEGIN_SOLUTION}' on line {begun} has no '{END_SOLUTION}' after it"
    return None


def describe(cell, index: int) -> str:
    """How an error names a cell: its index in the notebook and its grade_id."""
    gid = grade_id(cell)
    return f"cell {index}" + (f" (grade_id {gid!r})" if gid else "")


def check_markers(nb) -> None:
    """Raise ``NotebookError`` for the first code cell whose solution markers do not pair up
    (nbgrader, the reference and the leak check would each cut it differently)."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (problem := _marker_problem(cell.source)):
            raise NotebookError(f"{describe(cell, i)}: {problem}")


def solution_body(source: str, where: str = "solution cell") -> str:
    """A solution cell's source with the solution markers dropped (the full reference).
    ``where`` names the cell in the ``NotebookError`` raised for unpaired markers."""
    if problem := _marker_problem(source):
        raise NotebookError(f"{where}: {problem}")
    return "\n".join(l for l in source.splitlines() if l.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def marked_lines(source: str, begin: str, end: str) -> list[str]:
    """Lines strictly between begin/end markers (what a learner must never see)."""
    out, inside = [], False
    for line in source.splitlines():
        s = line.strip()
        if s == begin:
            inside = True
        elif s == end:
            inside = False
        elif inside:
            out.append(line)
    return out


def read(path) -> nbformat.NotebookNode:
    """A course notebook; ``NotebookError`` if its solution markers do not pair up."""
    nb = nbformat.read(str(path), as_version=4)
    check_markers(nb)
    return nb


def is_setup(cell) -> bool:
    """The locked set-up cell (imports, data): grade_id ``setup``."""
    return cell.cell_type == "code" and grade_id(cell) == "setup"


def graded_item(cell) -> str | None:
    """The key of a cell's points in exercise.toml: the item a graded cell ``test_<item>``
    scores, or a written answer's own grade_id."""
    gid = grade_id(cell) or ""
    if is_written(cell):
        return gid or None
    return gid[len("test_"):] if is_graded(cell) and gid.startswith("test_") else None


def solution_sources(nb) -> dict[str, str]:
    """{item: source of its solution cell} (markers included)."""
    return {grade_id(c): c.source for c in nb.cells if is_solution(c)}
