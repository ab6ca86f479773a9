"""Stage a source notebook for nbgrader: paste the hidden reference into its hidden tests.

Learner code must not be able to read ``solutions/`` at grading time, so each hidden-test
block receives, right after ``### BEGIN HIDDEN TESTS``:

* ``_SEED``: the per-term seed from ``course.toml`` that hidden tests draw inputs from;
* the reference solution: every solution cell's code, with each name the solution cells
  define renamed ``_ref_<name>`` throughout, so the reference chain never calls a
  learner's function.

nbgrader's gradebook stores these hidden cells at ``generate_assignment`` time and puts
them back at ``autograde`` time; the student notebook never holds them.
"""
from __future__ import annotations

import ast
import copy

from . import cells as C
from .bundle import with_install_cell

REF_PREFIX = "_ref_"


def _defined_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


class _Rename(ast.NodeTransformer):
    def __init__(self, names: set[str]):
        self.names = names

    def _new(self, name: str) -> str:
        return REF_PREFIX + name if name in self.names else name

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_FunctionDef(self, node):
        node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        node.name = self._new(node.name)
        self.generic_visit(node)
        return node

    def visit_Global(self, node):
        node.names = [self._new(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global


def reference_code(nb) -> str:
    """The renamed reference: all solution cells of the notebook, in order."""
    body = "\n\n".join(C.solution_body(c.source) for c in nb.cells if C.is_solution(c))
    tree = ast.parse(body)
    tree = _Rename(_defined_names(tree)).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


PROOF = "grading-proof:"


def stage(nb, seed: int, nonce: str | None = None):
    """Return a copy of ``nb`` whose hidden-test blocks hold the seed and the reference.

    With ``nonce`` (a fresh random string per grading worker), each hidden block ends by
    printing ``grading-proof:<nonce>``: a graded cell that "passes" without printing it
    never ran its tests (an input transformer blanked it) and is scored zero.
    """
    nb = with_install_cell(copy.deepcopy(nb))   # first code cell of every student notebook
    header = (
        "from dlcourse.integrity import verify as _verify_integrity\n"
        "_verify_integrity(globals())  # fails the cell if grading functions were tampered with\n"
        f"_SEED = {int(seed)}  # per-term seed (course.toml)\n" + reference_code(nb) + "\n# ---- hidden tests ----"
    )
    for cell in nb.cells:
        if not C.is_graded(cell) or C.BEGIN_HIDDEN not in cell.source:
            continue
        lines = cell.source.splitlines()
        i = next(k for k, l in enumerate(lines) if l.strip() == C.BEGIN_HIDDEN)
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        pasted = [indent + l if l else l for l in header.splitlines()]
        if nonce:
            j = max(k for k, l in enumerate(lines) if l.strip() == C.END_HIDDEN)
            lines.insert(j, f"{indent}print({PROOF + nonce!r})")
        cell.source = "\n".join(lines[: i + 1] + pasted + lines[i + 1:])
    return nb
