"""The course gradebook as an instructor uses it: one nbgrader gradebook across batches and
workers, read by nbgrader's own export and formgrader; scores by hand survive a regrade;
written answers stay pending until scored."""
import csv
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time

import nbformat

from autograder import course
from autograder.authoring import contract, variants
from autograder.grading import review
from autograder.notebook import cells as C

from conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _submissions(folder, who):
    ex = course.exercise("attention")
    stu = nbformat.read(ex.student, as_version=4)
    mutant = next(ch for ch in contract.plan_for(ex).values() if ch.kind == "mutant" and ch.item == "multi_head_attention")
    made = {"alice": variants.submission(stu, ex.nb), "dave": variants.submission(stu, ex.nb),
            "bob": variants.submission(stu, ex.nb, {mutant.item: mutant.apply(ex.solutions[mutant.item])}),
            "carol": stu}
    for cell in made["alice"].cells:   # alice answers the written question (an untouched one scores 0)
        if C.is_written(cell):
            cell.source = "Dividing by d_k shrinks the logits too far: the weights become almost uniform."
    for student in who:
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(made[student], folder / student / ex.notebook)


def _table(out):
    return {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}


def _export(out):
    dest = out / "export.csv"
    subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(dest)], cwd=out / "course",
                   check=True, capture_output=True)
    return {r["student_id"]: r for r in csv.DictReader(open(dest))}


def _same_totals(out):
    table, exported = _table(out), _export(out)
    assert set(exported) == set(table), (exported, table)
    for student, row in table.items():
        assert float(exported[student]["score"]) == float(row["score"]), (student, exported[student], row)
        assert float(exported[student]["max_score"]) == float(row["max_score"]), (student, exported[student], row)
    return table


def test_course_gradebook_end_to_end(tmp_path, monkeypatch):
    # this term's due date, and nbgrader's own late rule: a late submission scores zero
    monkeypatch.setenv("DLCOURSE_GRADING", '{"due": {"attention": "2026-10-05 23:59:00 UTC"}, "late_penalty": "zero"}')
    ex = course.exercise("attention")
    written = [C.grade_id(c) for c in ex.nb.cells if C.is_written(c)]
    assert written, "the attention exercise has a written answer (the pattern for the others)"
    subs, out = tmp_path / "subs", tmp_path / "out"

    # two batches, two workers: some students, then the rest (the first ones are not regraded)
    _submissions(subs, ["alice", "bob"])
    run_cli("grade", subs, out, "--workers", "2")
    _submissions(subs, ["carol", "dave"])
    # dave's LMS download said when he submitted (./course collect keeps it beside the notebook)
    (subs / "dave" / "attention.timestamp.txt").write_text("2026-10-07 08:00:00.000000 UTC")
    second = run_cli("grade", subs, out, "--workers", "2")
    assert "2 submissions to grade" in second.stdout + second.stderr
    table = _same_totals(out)
    code_points = ex.layout.total
    assert float(table["alice"]["score"]) == code_points and float(table["carol"]["score"]) == 0.0
    assert float(table["dave"]["score"]) == 0.0 and float(table["dave"]["late_penalty"]) == code_points, table["dave"]
    assert table["dave"]["submitted"].startswith("2026-10-07")
    # the written answer: in the total's maximum, scored by nobody yet, listed as pending
    assert float(table["alice"]["max_score"]) == code_points + sum(ex.meta.points[w] for w in written)
    assert all(w in table["alice"]["pending"] for w in written), table["alice"]
    page = lambda who: (out / table[who]["feedback"]).read_text()
    assert "graded by hand: its score above is not given yet" in page("alice")

    # scores by hand: one part overridden, one written answer graded
    run_cli("override", out, "bob", "attention", "multi_head_attention", "3")
    run_cli("override", out, "alice", "attention", written[0], "1")
    table = _same_totals(out)
    assert table["bob"]["attention:multi_head_attention"] == "3/4" and table["bob"]["by_hand"] == "multi_head_attention"
    assert written[0] not in table["alice"]["pending"] and float(table["alice"]["score"]) == code_points + 1
    run_cli("feedback", out)   # the learner's page again, with the hand-given score
    assert "not given yet" not in page("alice") and "Hidden tests" in page("alice")

    # graded again from scratch: the automatic scores are recomputed, the hand-given ones kept
    run_cli("grade", subs, out, "--workers", "2", "--regrade")
    table = _same_totals(out)
    assert table["bob"]["attention:multi_head_attention"] == "3/4" and table["bob"]["by_hand"] == "multi_head_attention"
    assert float(table["alice"]["score"]) == code_points + 1

    listing = run_cli("review", out).stdout
    assert "bob/attention" in listing and "scored by hand: multi_head_attention" in listing
    assert "/formgrader/submissions/" in listing
    bad = run_cli("override", out, "bob", "attention", "nope", "1", check=False)
    assert bad.returncode == 2 and "no part 'nope'" in bad.stderr and "Traceback" not in bad.stderr

    if CHROMIUM or os.environ.get("CI"):
        _formgrader_lists(out, ["alice", "bob", "carol", "dave"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _formgrader_lists(out, students):
    """formgrader, started as ./course formgrader starts it, shows every submission."""
    from playwright.sync_api import sync_playwright

    port, token = _free_port(), secrets.token_hex(8)
    root = out / "course"
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", *review.server_args(root, port),
                               f"--IdentityProvider.token={token}"],
                              cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = b.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/login?token={token}")   # the session cookie its API calls need
            page.goto(f"http://127.0.0.1:{port}/formgrader/manage_submissions/attention")
            for student in students:
                page.wait_for_selector(f"text={student}", timeout=30000)
            shots = course.ROOT / "_build" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "formgrader-submissions.png"), full_page=True)
            b.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
