"""Run a staged notebook once and many variants of it, in one process, forking per variant.

``python -m autograder.authoring.runner STAGED.ipynb PLAN.json RESULT.json``

PLAN is ``{"<variant name>": {"item": "<item>", "code": "<solution cell source>",
"whole": bool}}`` (``whole``: run every later cell, not only the item's own).
The parent executes the notebook's code cells in order. When it reaches the solution
cell of an item that has variants, it forks once per variant; each child runs that cell
with the variant's code and every cell after it, then reports which check/test cells
passed. Imports and earlier cells are paid once. A cell passes as nbgrader would score
it: no exception and nothing on stderr except Python warnings (nbgrader's
``IgnorePattern`` is configured with the same pattern). Graded cells connect to the
judge (``DLCOURSE_JUDGE``, started by ``contract.py``) and name their run in
``DLCOURSE_JUDGE_TAG``; their verdicts come from the judge, not from here.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import signal
import sys
import time
import traceback

import nbformat

from autograder.notebook import cells as C
from autograder.notebook.workspace import WARNING_PATTERN

_WARN = re.compile(WARNING_PATTERN)


def _run_cell(src: str, ns: dict, label: str) -> str | None:
    """Exec one cell; returns a failure message or None."""
    err, out = io.StringIO(), io.StringIO()
    failure = None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            exec(compile(src, label, "exec"), ns)
        except BaseException as e:  # noqa: BLE001 - a learner's cell may raise anything
            failure = f"{type(e).__name__}: {e}".strip()
    if failure is None and err.getvalue().strip() and not _WARN.search(err.getvalue()):
        failure = "wrote to stderr: " + err.getvalue().strip().splitlines()[-1][:200]
    try:
        import matplotlib.pyplot as plt

        plt.close("all")
    except ImportError:
        pass
    return failure


def _execute(cells, start: int, ns: dict, replaced: str | None = None, item: str | None = None) -> dict:
    """Run cells[start:], the first replaced by ``replaced``; results of check/test cells.
    Cells after the last check or graded cell (demos, training) decide nothing: skipped.
    With ``item``, stop after that item's own check and graded cells: later items are
    judged with the reference of this one, which the item's stub run proves once."""
    results = {}
    marks = [k for k, c in enumerate(cells) if C.is_graded(c) or C.is_check(c)]
    if item is not None:
        marks = [k for k in marks if C.item_of(C.grade_id(cells[k]) or "", [item]) == item] or marks
    last = max(marks, default=len(cells) - 1)
    for i in range(start, last + 1):
        cell = cells[i]
        src = replaced if (i == start and replaced is not None) else cell.source
        failure = _run_cell(src, ns, f"<cell {i}>")
        gid = C.grade_id(cell)
        if gid and (C.is_graded(cell) or C.is_check(cell)):
            results[gid] = failure
    return results


def _fork(cells, i, ns, code, timeout, prior: dict, tag: str, item: str | None) -> dict:
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        os.environ["DLCOURSE_JUDGE_TAG"] = tag
        try:
            own = _execute(cells, i, ns, code, item)
            res = {"cells": {**prior, **own}, "ran": list(own), "error": None}
        except BaseException:  # noqa: BLE001
            res = {"cells": {}, "error": traceback.format_exc()[-500:]}
        with os.fdopen(w, "w") as f:
            json.dump(res, f)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        # The child writes its whole report just before it exits.
        if not select.select([f], [], [], timeout)[0]:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"cells": {}, "error": f"timed out after {timeout} s", "seconds": timeout}
        text = f.read()
    os.waitpid(pid, 0)
    res = json.loads(text) if text else {"cells": {}, "error": "variant process died"}
    res["seconds"] = round(time.monotonic() - t0, 2)
    return res


def _warm_up() -> None:
    """Pay autograd's and the optimizers' first-use cost once, before the forks, not in each of them."""
    try:
        import torch
    except ImportError:
        return
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    torch.autograd.grad((x * x).sum(), x)
    (x.float() * 2).sum().backward()
    # the first optimizer step imports torch._dynamo (~1.5 s): once here, not in every fork that trains
    torch.optim.AdamW([x], lr=1e-3).step()


def run(staged_path: str, plan: dict, timeout: float = 300) -> dict:
    nb = nbformat.read(staged_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    by_item: dict[str, list] = {}
    for name, spec in plan.items():
        by_item.setdefault(spec["item"], []).append((name, spec["code"], spec.get("whole", True)))
    ns = {"__name__": "__main__"}
    os.environ["DLCOURSE_JUDGE_TAG"] = "solution"
    _warm_up()
    out, solution, own_time = {}, {}, 0.0
    for i, cell in enumerate(cells):
        if C.is_solution(cell):
            for name, code, whole in by_item.get(C.grade_id(cell), []):
                out[name] = _fork(cells, i, ns, code, timeout, solution, name, None if whole else C.grade_id(cell))
        t0 = time.monotonic()
        failure = _run_cell(cell.source, ns, f"<cell {i}>")
        own_time += time.monotonic() - t0
        gid = C.grade_id(cell)
        if gid and (C.is_graded(cell) or C.is_check(cell)):
            solution[gid] = failure
    out["solution"] = {"cells": solution, "error": None, "seconds": round(own_time, 2)}
    return out


def main(argv):
    staged, plan_file, result_file = argv
    os.environ.setdefault("MPLBACKEND", "Agg")
    with open(plan_file) as f:
        plan = json.load(f)
    res = run(staged, plan)
    with open(result_file, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
