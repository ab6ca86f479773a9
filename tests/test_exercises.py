"""The exercise contract (docs/authoring.md, "Writing or changing an exercise"), for every
exercise found under solutions/.

Heavy checks share work: one fork-per-variant run per exercise covers points 4, 5, 7 and
the fast form of 1-2; one real nbgrader grading of the solution and the stub per exercise
covers 1, 2, 3 and the feedback half of 6 (all exercises in one batch per session).
"""
import ast
import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder import course
from autograder.authoring import contract
from autograder.authoring import release
from autograder.authoring import variants
from autograder.notebook import cells as C
from autograder.publishing import leaks

from conftest import once_per_session, run_cli

def _student_text(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


def test_exercise_folder_complete(ex):
    problems = ex.problems()
    assert not problems, "\n".join(problems)


def test_notebook_hygiene(ex):
    nb = ex.nb
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec missing (the -W site build needs it)"
    assert nb.metadata.get("language_info", {}).get("name") == "python", "language_info missing"
    lay = C.layout(nb)
    assert lay.items and lay.total > 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.get("outputs"), f"source notebook has outputs in cell {C.grade_id(cell)}: clear them"
        assert not re.search(r"^\s*[%!]", cell.source, re.M), "no magics or shell escapes: cells must run as plain Python"
        ast.parse(cell.source)
        if C.is_graded(cell) and not C.is_solution(cell):
            assert cell.source == C.judge_cell(C.grade_id(cell)), \
                f"{C.grade_id(cell)}: a graded cell holds only the judge's call (autograder.notebook.cells.judge_cell)"
        if C.is_solution(cell):
            assert C.BEGIN_SOLUTION in cell.source and C.END_SOLUTION in cell.source


def test_hidden_tests_cover_every_graded_cell(ex):
    from autograder.judge.suite import HiddenTests

    suite = HiddenTests(ex)   # raises when a graded cell has no test function
    assert suite.graded and all(callable(getattr(suite.module, g)) for g in suite.graded)


def test_mutant_and_variant_banks(ex):
    mutants, accepted = ex.changes
    want = course.config()["contract"]
    for item in ex.layout.items:
        n_mut = sum(m.item == item for m in mutants)
        n_var = sum(v.item == item for v in accepted)
        assert n_mut >= want["min_mutants"], f"{item}: {n_mut} mutants, want >= {want['min_mutants']} (course.toml)"
        assert n_var >= want["min_variants"], f"{item}: {n_var} accepted variants, want >= {want['min_variants']}"
    names = [(c.item, c.name) for c in mutants + accepted]
    assert len(names) == len(set(names)), "duplicate mutant/variant names"


def test_student_notebook_up_to_date_and_clean(ex, tmp_path):
    assert ex.student.exists(), f"{ex.student} missing: run ./course release"
    fresh = release.release([ex], workdir=tmp_path, write=False)[ex]
    committed = nbformat.read(ex.student, as_version=4)
    strip = lambda nb: [(c.cell_type, c.source, json.dumps(c.metadata, sort_keys=True)) for c in nb.cells]
    assert strip(committed) == strip(fresh), f"{ex.student} is out of date: run ./course release {ex.name}"
    found = leaks.found(_student_text(committed), leaks.exercise_secrets(ex))
    assert not found, f"solution or hidden-test text in the student notebook: {found[:3]}"
    stubs = [c for c in committed.cells if C.is_solution(c)]
    assert all("raise NotImplementedError" in c.source for c in stubs)
    # written answers: the answer cells are there, unlocked; the leak check above proves them emptied
    written = [c for c in committed.cells if C.is_written(c)]
    assert [C.grade_id(c) for c in written] == list(ex.layout.written)
    assert not any(C.meta(c).get("locked") for c in written)


def test_contract_mutants_variants_visible_checks(ex):
    rep = contract.check(ex)
    print(f"\n{ex}\n{rep.table()}")
    assert not rep.problems, "\n".join(rep.problems)
    # the hidden tests must do real work: some mutants of each item pass its visible checks
    for item in rep.layout.items:
        own = [n for n, ch in rep.changes.items() if ch.kind == "mutant" and ch.item == item]
        checks = [g for g, it in rep.layout.owner.items() if it == item and g not in rep.layout.points]
        sneaky = [n for n in own if all(rep.results[n]["cells"].get(g) is None for g in checks)]
        assert sneaky, f"{item}: every mutant already fails the visible checks; add mutants they miss"


def _grade_all(folder) -> dict:
    """Every exercise's solved and untouched student notebooks, graded in one batch (one
    start of the workers, their imports and fork servers for the whole course)."""
    subs = folder / "subs"
    for ex in course.exercises():
        stu = nbformat.read(ex.student, as_version=4)
        for student, nb in [("solution", variants.submission(stu, ex.nb)), ("stub", stu)]:
            (subs / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, subs / student / ex.notebook)
    run_cli("grade", subs, folder / "out")
    rows = list(csv.DictReader(open(folder / "out" / "grades.csv")))
    return {"out": str(folder / "out"), "rows": rows}


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, worker_id):
    return once_per_session(tmp_path_factory, worker_id, "course_batch", _grade_all)


def test_grading_solution_full_stub_zero(ex, graded_course):
    out = Path(graded_course["out"])
    rows = {r["student"]: r for r in graded_course["rows"] if r["exercise"] == ex.name}
    total = ex.layout.total
    print(f"\n{ex}: solution graded in {rows['solution']['seconds']} s, stub in {rows['stub']['seconds']} s")
    assert rows["solution"]["status"] == "ok" and float(rows["solution"]["score"]) == total, rows["solution"]
    assert rows["stub"]["status"] == "ok" and float(rows["stub"]["score"]) == 0.0, rows["stub"]
    for student in rows:
        page = (out / rows[student]["feedback"]).read_text()
        # a learner's own feedback shows their own code; never the hidden tests, and a
        # stub's feedback never shows the solution
        secret = leaks.exercise_secrets(ex, solution=(student == "stub"))
        found = leaks.found(leaks.html_text(page), secret)
        assert not found, f"feedback for {student} shows hidden text: {found[:3]}"
        assert "hidden_tests" not in page
