"""Grading a mixed folder end to end, as an instructor would (issue: the course spine)."""
import csv
import re

import nbformat

from autograder import course
from autograder.authoring import contract
from autograder.authoring import variants
from autograder.grading.worker import Status

from conftest import run_cli


def _folder(tmp_path):
    ex = course.exercise("attention")
    src, stu = ex.nb, nbformat.read(ex.student, as_version=4)
    plan, sol = contract.plan_for(ex), ex.solutions
    subs = tmp_path / "subs"

    def put(student, nb, name=ex.notebook):
        (subs / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, subs / student / name)

    def changed(key):
        ch = plan[key]
        return variants.submission(stu, src, {ch.item: ch.apply(sol[ch.item])})

    put("ana", variants.submission(stu, src))
    put("ben", stu)
    put("cai", changed("variant:scaled_dot_product_attention:einsum"))
    put("dee", changed("mutant:scaled_dot_product_attention:fill_minus_1e9"))
    put("eli", changed("mutant:multi_head_attention:wrong_head_split"))
    put("fay", stu, name="homework.ipynb")                     # not an exercise of the course
    (subs / "gus").mkdir()
    (subs / "gus" / ex.notebook).write_text("{ this is not json")  # broken file
    return subs


def test_mixed_folder(tmp_path):
    subs = _folder(tmp_path)
    proc = run_cli("grade", subs, tmp_path / "out")
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    score = lambda s: float(rows[s]["score"])
    assert score("ana") == 8 and score("ben") == 0 and score("cai") == 8
    assert score("dee") == 4 and rows["dee"]["attention:scaled_dot_product_attention"] == "0/4"
    assert score("eli") == 4 and rows["eli"]["attention:multi_head_attention"] == "0/4"
    assert all(rows[s]["status"] == Status.ok and rows[s]["detail"] == "" for s in ("ana", "ben", "cai", "dee", "eli"))
    assert rows["fay"]["status"] == Status.not_an_exercise and "homework.ipynb" in rows["fay"]["detail"], rows["fay"]
    assert rows["gus"]["status"] == Status.not_graded and "not a valid notebook" in rows["gus"]["detail"], rows["gus"]
    for s in ("ana", "ben", "cai", "dee", "eli"):
        assert (tmp_path / "out" / rows[s]["feedback"]).exists()
    fb = (tmp_path / "out" / rows["dee"]["feedback"]).read_text()
    assert re.search(r"Hidden tests (&#39;|')test_scaled_dot_product_attention(&#39;|'): 0 of 4 points", fb)
    assert "values differ from the reference" in fb          # the failure message reaches the learner
    assert "most recent call last" not in fb and "Cell In[" not in fb and "_ref_" not in fb

    summary = list(csv.DictReader(open(tmp_path / "out" / "summary.csv")))
    assert summary[0]["exercise"] == "attention" and summary[0]["full_marks"] == "2", summary
    assert float(summary[0]["mean_score"]) == (8 + 0 + 8 + 4 + 4) / 5

    key = lambda rows: {s: {k: v for k, v in r.items() if k != "seconds"} for s, r in rows.items()}
    # resuming grades nothing twice
    proc = run_cli("grade", subs, tmp_path / "out")
    assert "0 submissions to grade" in proc.stdout
    again = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert key(again) == key(rows)
    # regrading, one worker instead of two, gives the same result
    run_cli("grade", subs, tmp_path / "out", "--regrade", "--workers", "1")
    serial = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert key(serial) == key(rows)
