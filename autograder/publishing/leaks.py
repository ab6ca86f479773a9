"""The exercise contract's point 6 (docs/authoring.md, "Writing or changing an exercise"): no solution code and no hidden-test text where learners can see it.

A "secret" is a distinctive line (>= 16 characters once whitespace is collapsed, naming
something beyond Python's keywords and builtins) from a
solution region of a source notebook or from the exercise's hidden tests that does not
also occur in a part learners may see (markdown, visible cells, the code outside the markers).
A written answer's cell (``cells.is_written``) is a solution region as a whole: its model
answer and rubric are replaced in the student notebook.
"""
from __future__ import annotations

import builtins
import html
import keyword
import re

from autograder.notebook import cells as C

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
MIN_LEN = 16
_COMMON = set(keyword.kwlist) | set(keyword.softkwlist) | set(dir(builtins))
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def normalise(line: str) -> str:
    return _WS.sub(" ", line).strip()


def distinctive(line: str) -> bool:
    """Whether a line names something of its own: a word of three letters or more that is
    no Python keyword or builtin. ``for i in range(n):`` and ``except Exception:`` name
    nothing; they occur in any Python code, explanation pages included, and give nothing away."""
    return any(len(w) > 2 and w not in _COMMON for w in _NAME.findall(line))


def secrets(source_nb, solution: bool = True, hidden_tests: str = "") -> set[str]:
    """Distinctive lines of the solution regions (``solution``: the code between the
    markers and the whole of every written answer's cell) and of ``hidden_tests`` (the text
    of an exercise's hidden_tests.py) that learners never see."""
    hidden, visible = hidden_tests.splitlines(), []
    for cell in source_nb.cells:
        src = cell.source
        if C.is_written(cell):
            hidden += src.splitlines() if solution else []
            continue
        if cell.cell_type != "code":
            visible.append(src)
            continue
        sol = C.marked_lines(src, C.BEGIN_SOLUTION, C.END_SOLUTION)
        hidden += sol if solution else []
        inside = set(sol)
        visible += [l for l in src.splitlines() if l not in inside]
    seen = normalise("\n".join(visible))
    out = set()
    for line in hidden:
        n = normalise(line)
        if len(n) >= MIN_LEN and not n.startswith("#") and n not in seen and distinctive(n):
            out.add(n)
    return out


def exercise_secrets(ex, solution: bool = True) -> set[str]:
    """Secrets of one exercise; of its hidden tests, not the generic lines (imports, the
    first line of a continued statement) nor lines its student notebook shows anyway."""
    tests = ex.hidden_tests_file
    text = tests.read_text() if tests.exists() else ""
    kept = [l for l in text.splitlines()
            if not l.strip().startswith(("import ", "from ")) and not l.rstrip().endswith(("\\", "(", "[", "{", ","))]
    found_ = secrets(ex.nb, solution, "\n".join(kept))
    shown = normalise("\n".join(c.source for c in C.read(ex.student).cells)) if ex.student.exists() else ""
    return {s for s in found_ if s not in shown}


def html_text(page: str) -> str:
    return normalise(html.unescape(_TAG.sub("", page)))


def found(text: str, secret_lines: set[str]) -> list[str]:
    flat = normalise(text)
    return sorted(s for s in secret_lines if s in flat)
