"""Grade a folder of submissions with nbgrader: grades CSV + per-student feedback HTML.

Layout accepted: ``SUBMISSIONS/<student>/<notebook>.ipynb`` (any folders between are
ignored); the notebook's file name says which exercise it is.

Output in ``OUT``: ``nbgrader/`` (the workspace and gradebook), ``grades.csv`` (one row
per student and exercise, points per item, total, status), ``feedback/<student>/<name>.html``.
"""
from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import cells as C
from . import paths
from .workspace import Workspace


def find_submissions(folder: Path):
    """Yields (student, exercise or None, path)."""
    known = {ex.notebook: ex for ex in paths.exercises()}
    for nb in sorted(Path(folder).rglob("*.ipynb")):
        rel = nb.relative_to(folder)
        if len(rel.parts) < 2 or ".ipynb_checkpoints" in rel.parts:
            continue
        yield rel.parts[0], known.get(nb.name), nb


def _item_scores(gb, ex, student) -> dict:
    nb = gb.find_submission_notebook(ex.name, ex.name, student)
    lay = C.layout(C.read(ex.source))
    scores = {}
    for g in nb.grades:
        item = lay.owner.get(g.name, g.name)
        got, top = scores.get(item, (0.0, 0.0))
        scores[item] = (got + (g.score or 0.0), top + g.max_score)
    return scores


def grade(submissions: Path, out: Path, log=print) -> Path:
    out = Path(out).resolve()
    ws = Workspace(out / "nbgrader")
    subs = list(find_submissions(Path(submissions)))
    needed = {ex for _, ex, _ in subs if ex is not None}
    for ex in sorted(needed, key=str):
        ws.add_source(ex)
        ws.generate(ex)
    rows = []
    for student, ex, path in subs:
        row = {"student": student, "exercise": ex.name if ex else path.name, "status": "ok"}
        if ex is None:
            row["status"] = f"not an exercise of this course: {path.name}"
            rows.append(row)
            continue
        t0 = time.monotonic()
        ws.submit(student, ex, path)
        res = ws.autograde(student, ex)
        row["seconds"] = f"{time.monotonic() - t0:.1f}"
        if not res["success"]:
            row["status"] = f"could not grade: {res['message']}"
            rows.append(row)
            log(f"{student}/{ex.name}: {row['status']}")
            continue
        html = ws.feedback(student, ex)
        dest = out / "feedback" / student / f"{ex.name}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(html, dest)
        row["feedback"] = str(dest.relative_to(out))
        with Gradebook(ws.db_url) as gb:
            try:
                sub = gb.find_submission_notebook(ex.name, ex.name, student)
                row["score"], row["max_score"] = sub.score, sub.max_score
                for item, (got, top) in _item_scores(gb, ex, student).items():
                    row[f"{ex.name}:{item}"] = f"{got:g}/{top:g}"
            except MissingEntry:
                row["status"] = "could not grade: no grades recorded"
        rows.append(row)
        log(f"{student}/{ex.name}: {row.get('score')}/{row.get('max_score')} in {row['seconds']} s")
    return write_csv(rows, out / "grades.csv")


def write_csv(rows: list[dict], path: Path) -> Path:
    fixed = ["student", "exercise", "score", "max_score", "status"]
    extra = sorted({k for r in rows for k in r} - set(fixed) - {"feedback", "seconds"})
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fixed + extra + ["seconds", "feedback"])
        w.writeheader()
        w.writerows(rows)
    return path
