"""Contract point 6: no solution code and no hidden-test text where learners can see it.

A "secret" is a distinctive line (>= 16 characters once whitespace is collapsed) from a
solution region or a hidden-test region of a source notebook that does not also occur in
a part learners may see (markdown, visible cells, the code outside the markers).
"""
from __future__ import annotations

import html
import re

from . import cells as C

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]+>")
MIN_LEN = 16


def _norm(line: str) -> str:
    return _WS.sub(" ", line).strip()


def secrets(source_nb, solution: bool = True, tests: bool = True) -> set[str]:
    hidden, visible = [], []
    for cell in source_nb.cells:
        src = cell.source
        if cell.cell_type != "code":
            visible.append(src)
            continue
        sol = C.marked_lines(src, C.BEGIN_SOLUTION, C.END_SOLUTION)
        tst = C.marked_lines(src, C.BEGIN_HIDDEN, C.END_HIDDEN)
        hidden += (sol if solution else []) + (tst if tests else [])
        inside = set(sol) | set(tst)
        visible += [l for l in src.splitlines() if l not in inside]
    seen = _norm("\n".join(visible))
    out = set()
    for line in hidden:
        n = _norm(line)
        if len(n) >= MIN_LEN and not n.startswith("#") and n not in seen:
            out.add(n)
    return out


def html_text(page: str) -> str:
    return _norm(html.unescape(_TAG.sub("", page)))


def found(text: str, secret_lines: set[str]) -> list[str]:
    flat = _norm(text)
    return sorted(s for s in secret_lines if s in flat)
