"""LMS downloads -> the grader's folder layout, through nbgrader's zip_collect and a roster."""
import csv
import json
import zipfile

from autograder import course
from autograder.grading.collect import collect
from autograder.grading.batch import write_csv
from autograder.grading.worker import Status

ROSTER = "id,lms_id,first_name,last_name,email\ns001,doejane,Jane,Doe,jane@example.org\ns002,1234,Bob,Smith,bob@example.org\n"


def test_canvas_zip_with_roster(tmp_path):
    nb = course.exercise("attention").student.read_bytes()
    (tmp_path / "roster.csv").write_text(ROSTER)
    with zipfile.ZipFile(tmp_path / "submissions.zip", "w") as z:
        z.writestr("doejane_5551_7771_attention.ipynb", nb)
        z.writestr("1234_LATE_5552_7772_attention-1.ipynb", nb)   # a late resubmission, renamed by Canvas
        z.writestr("stranger_5553_7773_attention.ipynb", nb)      # not on the roster
        z.writestr("notes.txt", "not a notebook")
    res = collect("attention", [tmp_path / "submissions.zip"], tmp_path / "subs", lms="canvas",
                  roster=tmp_path / "roster.csv", log=lambda *_: None)
    assert sorted(res["students"]) == ["s001", "s002"]
    assert sorted(p.relative_to(tmp_path / "subs").as_posix() for p in (tmp_path / "subs").rglob("*.ipynb")) == \
        ["s001/attention.ipynb", "s002/attention.ipynb"]
    assert (tmp_path / "subs" / "s001" / "attention.ipynb").read_bytes() == nb
    assert len(res["not_on_roster"]) == 1 and res["not_on_roster"][0].startswith("stranger")


def test_moodle_folders(tmp_path):
    nb = course.exercise("attention").student.read_bytes()
    (tmp_path / "roster.csv").write_text(ROSTER)
    d = tmp_path / "download" / "Bob Smith_1234_assignsubmission_file_"
    d.mkdir(parents=True)
    (d / "attention.ipynb").write_bytes(nb)
    res = collect("attention", [tmp_path / "download"], tmp_path / "subs", lms="moodle",
                  roster=tmp_path / "roster.csv", log=lambda *_: None)
    assert res["students"] == ["s002"]
    assert (tmp_path / "subs" / "s002" / "attention.ipynb").exists()


GRADES = {"test_scaled_dot_product_attention": {"auto": 4.0, "max": 4.0, "pending": False},
          "test_multi_head_attention": {"auto": 0.0, "max": 4.0, "pending": False}}


def test_grades_table_carries_the_roster(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    r = tmp_path / "results" / "s001"
    r.mkdir(parents=True)
    (r / "attention.json").write_text(json.dumps({"student": "s001", "exercise": "attention", "score": 4.0,
                                                  "max_score": 8.0, "status": "ok", "grades": GRADES}))
    rows = list(csv.DictReader(open(write_csv(tmp_path))))
    assert rows[0]["student"] == "s001" and rows[0]["email"] == "jane@example.org" and rows[0]["lms_id"] == "doejane"


def test_grades_table_has_the_status_and_its_detail(tmp_path):
    records = {"s001": {"score": 8.0, "max_score": 8.0, "status": "ok", "detail": "", "grades": GRADES},
               "s002": {"status": "not_graded", "detail": "the file is not a valid notebook (not JSON)"},
               "s003": {"status": "not_an_exercise", "detail": "homework.ipynb is not the notebook of an exercise"}}
    for student, rec in records.items():
        (tmp_path / "results" / student).mkdir(parents=True)
        exercise = "homework" if student == "s003" else "attention"
        (tmp_path / "results" / student / f"{exercise}.json").write_text(
            json.dumps({"student": student, "exercise": exercise, **rec}))
    path = write_csv(tmp_path)
    header = open(path).readline().strip().split(",")
    assert header[:7] == ["student", "exercise", "score", "max_score", "status", "detail",
                          "attention:multi_head_attention"], header
    assert header[-7:] == ["by_hand", "pending", "late_penalty", "submitted", "review", "seconds", "feedback"], header
    rows = {r["student"]: r for r in csv.DictReader(open(path))}
    assert {s: r["status"] for s, r in rows.items()} == {"s001": Status.ok, "s002": Status.not_graded,
                                                         "s003": Status.not_an_exercise}
    assert rows["s002"]["detail"] == "the file is not a valid notebook (not JSON)"
    summary = list(csv.DictReader(open(tmp_path / "summary.csv")))   # a submission not graded counts, not scored
    assert [(s["exercise"], s["submissions"], s["graded"]) for s in summary] == [("attention", "2", "1")]
