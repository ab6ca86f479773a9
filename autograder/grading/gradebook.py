"""The course gradebook: one nbgrader gradebook for every student and exercise graded so far.

Workers grade in their own nbgrader workspaces (parallel writers and one SQLite file do not
mix); the batch, one process, copies each finished submission into the course gradebook:
an nbgrader course directory, ``OUT/course``, whose ``gradebook.db`` (or the database of
``course.toml``'s ``gradebook_url``: any SQLAlchemy URL) nbgrader's own tools read:
formgrader, ``nbgrader export``, ``nbgrader db``. Grading again replaces the automatic
scores; a score given by hand (formgrader, or ``./course override``) is kept, and so is a
written answer's grade.

``grades.csv`` and ``summary.csv`` are derived from it (``rows``), with the status, detail,
review flags and timing of each submission's result record beside the scores.
"""
from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

from nbconvert.preprocessors import Preprocessor

from autograder import course
from autograder.notebook.workspace import Workspace


class RefuseAutograde(Preprocessor):
    """nbgrader's autograde in the course directory (formgrader's autograde button) stops
    here: without the judge, a graded cell only calls an agent that finds no judge, and
    would score its points."""

    def preprocess(self, nb, resources):
        raise RuntimeError("this gradebook is graded by ./course grade (the hidden tests run in its judge); "
                           "nbgrader's own autograde would give every graded cell its points")


def db_url(out: Path) -> str:
    url = str(course.config()["grading"].get("gradebook_url", "")).strip()
    return url or f"sqlite:///{Path(out).resolve() / 'course' / 'gradebook.db'}"


def part_of(ex: course.Exercise, grade_cell: str) -> str:
    """The part a grade cell scores: the item of ``test_<item>``, or a written answer's id."""
    return ex.layout.owner.get(grade_cell, grade_cell)


class CourseGradebook:
    def __init__(self, out: Path):
        self.out = Path(out).resolve()
        self.root = self.out / "course"
        self.url = db_url(self.out)
        self._ws: Workspace | None = None
        self._ready: dict[str, object] = {}   # exercise -> True, or why it cannot be recorded

    @property
    def ws(self) -> Workspace:
        if self._ws is None:   # nbgrader's imports cost seconds: only when something is recorded
            self._ws = Workspace(self.root, db_url=self.url)
            self._ws.config.Autograde.autograde_preprocessors = [f"{__name__}.{RefuseAutograde.__name__}"]
            self._ws.save_config()
        return self._ws

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.url)

    def _assignment(self, ex: course.Exercise) -> None:
        """The exercise's cells in the gradebook, through nbgrader's own generate_assignment
        (once per batch: a changed notebook updates them)."""
        if isinstance(self._ready.get(ex.name), Exception):
            raise self._ready[ex.name]
        if ex.name not in self._ready:
            self.ws.add_source(ex)
            try:
                self.ws.generate(ex)
            except RuntimeError as e:
                if "there are submissions associated" in str(e):   # nbgrader's own rule, said in its log only
                    self._ready[ex.name] = course.CourseError(
                        f"{ex.name}'s graded cells changed since its submissions were put in the course gradebook "
                        f"({self.url}), and nbgrader does not change an assignment that has submissions: grade "
                        f"into a new folder, or remove them (nbgrader db assignment remove {ex.name})")
                    raise self._ready[ex.name] from None
                raise
            self._ready[ex.name] = True

    def record(self, res: dict, people: dict[str, dict]) -> None:
        """Copy one graded submission (a worker's result record) into the gradebook."""
        if res.get("grades") is None:
            return
        ex = course.exercise(res["exercise"])
        student = res["student"]
        self._assignment(ex)
        who = people.get(student, {})
        with self.gradebook() as gb:
            gb.update_or_create_student(student, first_name=who.get("first_name") or None,
                                        last_name=who.get("last_name") or None, email=who.get("email") or None,
                                        lms_user_id=who.get("lms_id") or None)
            gb.update_or_create_submission(ex.name, student,
                                           **({"timestamp": res["timestamp"]} if res.get("timestamp") else {}))
            for name, g in res["grades"].items():
                grade = gb.find_grade(name, ex.name, ex.name, student)
                grade.auto_score = g["auto"]
                grade.needs_manual_grade = g["pending"] and grade.manual_score is None
            nb = gb.find_submission_notebook(ex.name, ex.name, student)
            nb.flagged = bool(res.get("review")) or res.get("status") == "partly_graded"
            nb.late_submission_penalty = res.get("late_penalty") or None
            gb.db.commit()
        # formgrader shows the autograded notebook from the course directory
        dest = self.root / "autograded" / student / ex.name
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(res["autograded"], dest / ex.notebook)
        if res.get("feedback"):
            fb = self.root / "feedback" / student / ex.name
            fb.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(res["feedback"], fb / f"{ex.name}.html")

    def feedback(self, student: str, exercise: str) -> Path:
        """The learner's feedback page again, from the course gradebook: hand-given scores
        and comments included."""
        ex = course.exercise(exercise)
        html = self.ws.feedback(student, ex)
        dest = self.out / "feedback" / student / f"{ex.name}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(html, dest)
        return dest

    def scores(self) -> dict[tuple[str, str], dict]:
        """{(student, exercise): {"grades": {grade cell: {"score", "max", "manual", "pending"}},
        "late_penalty": points}}."""
        if self.url.startswith("sqlite:///") and not Path(self.url[len("sqlite:///"):]).exists():
            return {}
        out = {}
        with self.gradebook() as gb:
            for a in gb.assignments:
                for sub in a.submissions:
                    out[(sub.student.id, a.name)] = {
                        "grades": {g.name: {"score": g.score, "max": g.max_score, "manual": g.manual_score is not None,
                                            "pending": bool(g.needs_manual_grade)}
                                   for nb in sub.notebooks for g in nb.grades},
                        "late_penalty": sub.late_submission_penalty or 0.0}
        return out

    def override(self, student: str, exercise: str, part: str, score: float | None) -> str:
        """Set (or with None clear) the score of one part by hand; returns what was done."""
        ex = course.exercise(exercise)
        with self.gradebook() as gb:
            try:
                nb = gb.find_submission_notebook(ex.name, ex.name, student)
            except Exception:  # noqa: BLE001 - nbgrader's MissingEntry
                raise course.CourseError(f"override: {student} has no graded submission of {ex.name}") from None
            grades = {g.name: g for g in nb.grades}
            cells = [n for n in grades if n == part or part_of(ex, n) == part]
            if len(cells) != 1:
                parts = sorted({part_of(ex, n) for n in grades})
                raise course.CourseError(f"override: {ex.name} has no part {part!r} (parts: {', '.join(parts)})")
            g = grades[cells[0]]
            if score is not None and not 0 <= score <= g.max_score:
                raise course.CourseError(f"override: {part} is worth 0 to {g.max_score:g} points, not {score:g}")
            g.manual_score = score
            g.needs_manual_grade = score is None and g.auto_score is None
            top = g.max_score
            gb.db.commit()
        return (f"{student}/{ex.name}: {part} = {score:g}/{top:g} by hand" if score is not None
                else f"{student}/{ex.name}: {part} back to its automatic score")


@functools.cache
def _exercise(name: str) -> course.Exercise | None:
    try:
        return course.exercise(name)
    except course.UnknownExercise:
        return None


def table_row(record: dict, entry: dict | None) -> dict:
    """One row of grades.csv: the result record's status and timing, the gradebook's scores
    (``entry`` of ``scores()``: hand-given scores included, written answers not yet scored
    listed as pending, nbgrader's late penalty taken off as its export does)."""
    row = {k: record.get(k) for k in ("student", "exercise", "score", "max_score", "status", "detail", "review",
                                      "seconds")}
    ex = _exercise(record["exercise"])
    if record.get("grades") is None or ex is None:   # not graded this time: no scores, old or new
        return row
    grades = (entry or {}).get("grades")
    late = (entry or {}).get("late_penalty", 0.0)
    if grades is None or set(grades) != set(record["grades"]):
        # not in the gradebook, or there under an older form of the notebook: the record's own
        grades = {n: {"score": g["auto"], "max": g["max"], "manual": False, "pending": g["pending"]}
                  for n, g in record["grades"].items()}
        late = record.get("late_penalty") or 0.0
    parts: dict[str, list[float]] = {}
    manual, pending = [], []
    for name, g in grades.items():
        part = part_of(ex, name)
        got_top = parts.setdefault(part, [0.0, 0.0])
        got_top[0] += g["score"] or 0.0
        got_top[1] += g["max"]
        if g["manual"]:
            manual.append(part)
        elif g["pending"]:
            pending.append(f"{part} ({g['max']:g})")
    for part, (got, top) in parts.items():
        row[f"{ex.name}:{part}"] = f"{got:g}/{top:g}"
    row["score"] = max(0.0, sum(got for got, _ in parts.values()) - late)
    row["late_penalty"] = f"{late:g}" if late else ""
    row["submitted"] = record.get("timestamp") or ""
    row["max_score"] = sum(top for _, top in parts.values())
    row["by_hand"] = ", ".join(sorted(manual))
    row["pending"] = ", ".join(sorted(pending))
    row["_pending_points"] = sum(g["max"] for g in grades.values() if g["pending"] and not g["manual"])
    return row


def records(out: Path) -> list[dict]:
    return [json.loads(f.read_text()) for f in sorted((Path(out) / "results").glob("*/*.json"))]
