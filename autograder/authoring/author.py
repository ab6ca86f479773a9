"""Turn a percent-format draft into an nbgrader source notebook (authoring aid).

``python -m autograder.authoring.author draft.py solutions/<chapter>/<name>/<name>.ipynb``

The draft is only a convenient way to type a new notebook; the ``.ipynb`` it writes is
the source of truth from then on (edit it in Jupyter, don't keep the draft). Cell
headers::

    # %% [markdown]              text (write it as '# ' comment lines or a string)
    # %% [markdown] written id=written_<topic> points=2   a written answer graded by hand:
                                 the model answer and its rubric (nbgrader replaces them)
    # %%                         ordinary code (demos, experiments)
    # %% locked id=setup         read-only code that grading restores (imports, data)
    # %% solution id=<item>      the learner's cell; wrap the answer in BEGIN/END SOLUTION
    # %% check id=check_<item>   visible tests (locked, no points)
    # %% test id=test_<item> points=4   graded cell (its body is replaced by the judge's
                                        call; write the tests in hidden_tests.py)
"""
from __future__ import annotations

import re
import sys

import nbformat

from autograder.notebook import cells as C

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {
    "name": "python", "version": "3.11", "mimetype": "text/x-python", "file_extension": ".py",
    "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
    "nbconvert_exporter": "python",
}
HEADER = re.compile(r"^# %%(.*)$")


def _nbgrader(kind: str, gid: str, points: float | None) -> dict:
    m = {"grade": kind in ("test", "written"), "grade_id": gid, "locked": kind not in ("solution", "written"),
         "schema_version": 3, "solution": kind in ("solution", "written"), "task": False}
    if kind in ("test", "written"):
        m["points"] = points
    return m


def _markdown(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n")
    if text.startswith(('"""', "'''")):
        return text[3:-3].strip("\n")
    return "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.splitlines())


def convert(draft: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    blocks, header, lines = [], None, []
    for line in draft.splitlines():
        m = HEADER.match(line)
        if m:
            if header is not None:
                blocks.append((header, lines))
            header, lines = m.group(1).strip(), []
        elif header is not None:
            lines.append(line)
    if header is not None:
        blocks.append((header, lines))
    for header, lines in blocks:
        if header.startswith("[markdown]"):
            cell = nbformat.v4.new_markdown_cell(_markdown(lines))
            if header != "[markdown]":   # [markdown] written id=... points=...
                kind, *opts = header.split()[1:]
                if kind != "written":
                    raise ValueError(f"'# %% {header}': a markdown cell is plain text or 'written'")
                kv = dict(o.split("=", 1) for o in opts)
                cell.metadata["nbgrader"] = _nbgrader(kind, kv["id"], float(kv["points"]) if "points" in kv else None)
            nb.cells.append(cell)
            continue
        cell = nbformat.v4.new_code_cell("\n".join(lines).strip("\n"))
        if header.startswith("test "):
            cell.source = C.judge_cell(dict(o.split("=", 1) for o in header.split()[1:])["id"])
        if header:
            kind, *opts = header.split()
            kv = dict(o.split("=", 1) for o in opts)
            points = float(kv["points"]) if "points" in kv else None
            cell.metadata["nbgrader"] = _nbgrader(kind, kv["id"], points)
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"c{i:02d}"
    return nb


if __name__ == "__main__":
    src, dst = sys.argv[1:3]
    nbformat.write(convert(open(src).read()), dst)
    print(f"wrote {dst}")
