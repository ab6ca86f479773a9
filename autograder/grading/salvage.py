"""Points earned elsewhere survive a cell that kills the kernel or never ends.

nbgrader gives up on a whole notebook when its kernel dies (``os._exit``, a segfault, the
memory limit) or a cell ignores the interrupt after its time limit: the learner would get
nothing for the parts that work. So the grader records which cell was running
(``Tracker``, an nbclient ``on_cell_execute`` hook), and grades again with that cell
neutralised (``neutralise``):

* the learner's own solution cell of item X, or a hidden test / visible check of item X
  (the learner's function crashed when called): X's solution cell becomes a stub, so X
  scores 0 and every other item is graded as usual (items are independent: their hidden
  tests use the reference of the items they build on);
* a cell the learner added: it is replaced by a comment;
* the locked set-up cell: nothing to salvage, the submission cannot be graded.

The neutralised cell keeps a comment saying why, which the learner sees in the feedback.

Whether a failed run is one of these is decided by the exception that stopped it
(``salvageable``), which nbgrader itself only logs as text: ``RecordingExecute`` keeps it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from autograder.notebook import cells as C


def _added_key(cell) -> str:
    return "cell:" + hashlib.sha256(cell.source.encode()).hexdigest()[:16]


def cell_key(cell, owner: dict[str, str], items: list[str]) -> str | None:
    """What to neutralise when this cell kills the kernel: ``item:<name>``, ``cell:<hash>``
    for a cell the learner added, or None (a locked cell of the course's own)."""
    gid = C.grade_id(cell)
    if C.is_solution(cell) and gid in items:
        return f"item:{gid}"
    if gid in owner:
        return f"item:{owner[gid]}"
    if not C.meta(cell):
        return _added_key(cell)
    return None


def describe(key: str) -> str:
    return f"the solution cell of '{key[5:]}'" if key.startswith("item:") else "a cell you added"


def neutralise(nb, skip: list[dict]) -> int:
    """Replace the cells named in ``skip`` ([{key, reason}]) in place; returns how many."""
    done = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for s in skip:
            key, reason = s["key"], s["reason"]
            gid = C.grade_id(cell)
            if key.startswith("item:") and C.is_solution(cell) and gid == key[5:]:
                cell.source = (f"# The grader did not run your code for '{gid}': when it ran, {reason}.\n"
                               f"# This part scores 0; the other parts were graded without it.\n"
                               f"raise NotImplementedError({f'{gid} was not run: {reason}'!r})")
            elif key.startswith("cell:") and not C.meta(cell) and _added_key(cell) == key:
                cell.source = f"# The grader did not run this cell: when it ran, {reason}."
            else:
                continue
            done += 1
    return done


def salvageable(stopped: BaseException | None) -> bool:
    """Did this exception end the run because of the cell that was running: the kernel died
    in it, or it ran past the per-cell limit and ignored the interrupt?"""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    return isinstance(stopped, (DeadKernelError, CellTimeoutError))


class Tracker:
    """nbclient hook: remembers the key of the cell being executed, in memory and in a
    file (the parent reads the file after killing a worker at the wall-time limit), and
    the exception that stopped the run, if one did (``RecordingExecute``)."""

    def __init__(self, on_cell=None):
        self.on_cell = on_cell  # also told of every cell (the judge arms itself on graded cells)
        self.owner: dict[str, str] = {}
        self.items: list[str] = []
        self.file: Path | None = None
        self.key: str | None = None
        self.stopped: BaseException | None = None

    def start(self, source_nb, file: Path | None) -> None:
        lay = C.layout(source_nb)
        self.owner, self.items, self.file, self.key, self.stopped = lay.owner, lay.items, file, None, None
        if file is not None and file.exists():
            file.unlink()

    def __deepcopy__(self, memo):  # traitlets deep-copies config values: keep this one shared
        return self

    def __call__(self, cell=None, cell_index=None, **_):
        if self.on_cell is not None:
            self.on_cell(cell)
        self.key = cell_key(cell, self.owner, self.items) if cell is not None else None
        if self.file is not None:
            self.file.write_text(json.dumps({"key": self.key, "index": cell_index}))


def last_key(file: Path) -> str | None:
    try:
        return json.loads(Path(file).read_text()).get("key")
    except (OSError, ValueError):
        return None


def recording_execute():
    """nbgrader's Execute preprocessor, which also hands the exception that stopped a run to
    its ``on_cell_execute`` hook (a ``Tracker``): nbgrader's converter catches it, logs its
    traceback and raises a generic error, so the type would be lost."""
    from nbgrader.preprocessors import Execute

    class RecordingExecute(Execute):   # a subclass: the Execute section of the config applies
        def preprocess(self, nb, resources=None, km=None):
            try:
                return super().preprocess(nb, resources, km)
            except Exception as e:
                if isinstance(self.on_cell_execute, Tracker):
                    self.on_cell_execute.stopped = e
                raise

    return RecordingExecute
