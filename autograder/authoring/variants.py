"""Mutants (plausible wrong answers) and accepted variants of an exercise.

Each exercise folder may hold ``mutants.py`` with two lists::

    MUTANTS = [mutant("item", "no_scale", "forgets the 1/sqrt(d_k) scale",
                      edits=[("/ math.sqrt(d_k)", "")])]
    VARIANTS = [variant("item", "einsum", "einsum instead of matmul", code="...")]

A mutant is the reference solution cell with small text edits (each ``old`` string must
occur exactly once, so a mutant cannot silently go stale) or a whole replacement cell.
"""
from __future__ import annotations

import dataclasses

from autograder.notebook import cells as C


@dataclasses.dataclass
class Change:
    item: str
    name: str
    why: str
    kind: str                      # "mutant" | "variant" | "stub"
    edits: list = dataclasses.field(default_factory=list)
    code: str | None = None

    def apply(self, solution_source: str) -> str:
        if self.code is not None:
            return self.code
        src = solution_source
        for old, new in self.edits:
            n = src.count(old)
            if n != 1:
                raise ValueError(f"{self.kind} {self.name}: {old!r} occurs {n} times in {self.item}'s solution (must be 1)")
            src = src.replace(old, new)
        if src == solution_source:
            raise ValueError(f"{self.kind} {self.name} changes nothing")
        return src


def mutant(item, name, why, edits=(), code=None) -> Change:
    return Change(item, name, why, "mutant", list(edits), code)


def variant(item, name, why, edits=(), code=None) -> Change:
    return Change(item, name, why, "variant", list(edits), code)


def submission(student_nb, source_nb, changes: dict[str, str] | None = None, solved: bool = True):
    """A submission built from the student notebook: every solution cell filled with the
    reference (``solved``; a written answer with the model answer) or left as the stub, then
    ``changes`` {item: code} applied."""
    import copy

    nb = copy.deepcopy(student_nb)
    ref = C.solution_sources(source_nb)
    ref.update({C.grade_id(c): c.source for c in source_nb.cells if C.is_written(c)})
    for cell in nb.cells:
        gid = C.grade_id(cell)
        if C.is_solution(cell) or C.is_written(cell):
            if changes and gid in changes:
                cell.source = changes[gid]
            elif solved:
                cell.source = ref[gid]
    return nb
