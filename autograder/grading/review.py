"""What an instructor does after a batch: see what wants a look, give scores by hand, open
the gradebook in formgrader.

``./course review OUT``      the submissions that want an instructor, each with the reason
                             and where to open it
``./course override OUT STUDENT EXERCISE PART SCORE|clear``
                             a part's score by hand (kept when the batch is graded again)
``./course feedback OUT``    every feedback page again, from the gradebook (after grading by hand)
``./course formgrader OUT``  JupyterLab on the course gradebook (``OUT/course``): formgrader
                             shows every submission, takes manual scores and comments
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from autograder import course
from autograder.grading.batch import write_csv
from autograder.grading.gradebook import CourseGradebook


def override(out: Path, student: str, exercise: str, part: str, score: str) -> str:
    if score == "clear":
        value = None
    else:
        try:
            value = float(score)
        except ValueError:
            raise course.CourseError(f"override: the score must be a number of points or 'clear', not {score!r}") from None
    done = CourseGradebook(out).override(student, exercise, part, value)
    write_csv(out)
    return done + f" (grades.csv rewritten)"


def feedback(out: Path) -> str:
    """Every graded submission's feedback page, made again from the course gradebook (after
    grading by hand: the learner sees the scores and comments given in formgrader)."""
    _course_dir(out, "feedback")
    book = CourseGradebook(out)
    done = [book.feedback(s, e) for s, e in _submission_ids(out)]
    return f"feedback: {len(done)} page(s) written to {Path(out) / 'feedback'}"


def _submission_ids(out: Path) -> dict[tuple[str, str], str]:
    with CourseGradebook(out).gradebook() as gb:
        return {(s.student.id, a.name): nb.id for a in gb.assignments for s in a.submissions for nb in s.notebooks}


def listing(out: Path) -> str:
    out = Path(out)
    rows = list(csv.DictReader(open(write_csv(out), newline="")))
    ids = _submission_ids(out) if (out / "course").exists() else {}
    lines = []
    for r in rows:
        why = []
        if r["status"] != "ok":
            why.append(f"{r['status']}: {r['detail']}")
        if r.get("review"):
            why.append(f"flagged: {r['review']}")
        if r.get("pending"):
            why.append(f"written answers to grade: {r['pending']}")
        if r.get("by_hand"):
            why.append(f"scored by hand: {r['by_hand']}")
        if not why:
            continue
        where = ids.get((r["student"], r["exercise"]))
        lines.append(f"{r['student']}/{r['exercise']}  {r['score'] or '-'}/{r['max_score'] or '-'}\n    "
                     + "\n    ".join(why)
                     + (f"\n    open: /formgrader/submissions/{where} (./course formgrader {out})" if where else "")
                     + (f"\n    feedback: {out / r['feedback']}" if r.get("feedback") else ""))
    if not lines:
        return f"review: nothing to look at in {len(rows)} submission(s)"
    return "\n".join(lines) + f"\n{len(lines)} of {len(rows)} submission(s) want a look"


def _course_dir(out: Path, cmd: str) -> Path:
    root = Path(out).resolve() / "course"
    if not (root / "nbgrader_config.json").exists():
        raise course.CourseError(f"{cmd}: no course gradebook in {root} (grade a batch first)")
    return root


def export(out: Path) -> Path:
    """nbgrader's own ``export`` (its CSV plugin) run on the course gradebook."""
    dest = Path(out).resolve() / "export.csv"
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", str(dest)],
                          cwd=_course_dir(out, "export"), capture_output=True, text=True)
    if proc.returncode != 0:
        raise course.CourseError(f"export: nbgrader export failed: {proc.stderr.strip().splitlines()[-1:]}")
    return dest


def formgrader(out: Path, port: int) -> int:
    root = _course_dir(out, "formgrader")
    print(f"formgrader: http://localhost:{port}/formgrader (Ctrl-C stops it)", flush=True)
    # nbgrader reads its configuration from the folder it starts in
    return subprocess.call([sys.executable, "-m", "jupyterlab", *server_args(root, port)], cwd=root)


def server_args(root: Path, port: int) -> list[str]:
    """JupyterLab's arguments for formgrader on the course directory ``root``."""
    return ["--no-browser", f"--port={port}", f"--ServerApp.root_dir={root}",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])]
