"""Grade a folder of submissions: parallel, sandboxed, resumable; grades CSV + feedback.

Layout accepted: ``SUBMISSIONS/<student>/<notebook>.ipynb`` (folders in between are
ignored); the notebook's file name says which exercise it is.

Output in ``OUT``:
``results/<student>/<exercise>.json``  one record per graded submission (the resume point:
                                       a submission whose file is unchanged is not regraded)
``feedback/<student>/<exercise>.html`` what the learner receives (no hidden tests)
``grades.csv``                         one row per student and exercise: points per item,
                                       total, status (``worker.Status``) and its detail,
                                       review flags, seconds, the feedback file
``summary.csv``                        one row per exercise: submissions, graded, mean,
                                       full marks, the part most often failed, flagged
``workers/``                           each worker's own nbgrader workspace and gradebook

Several workers grade at once (one torch thread each); every submission is graded in its
own sandboxed kernel (``sandbox``) under the limits of ``course.toml``.
"""
from __future__ import annotations

import csv
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from autograder import course
from autograder.grading import gradebook, salvage
from autograder.grading import sandbox
from autograder.grading.gradebook import CourseGradebook
from autograder.grading.worker import MAX_SALVAGE, Status, sha256


def find_submissions(folder: Path):
    """Yields (student, exercise or None, path)."""
    known = {ex.notebook: ex for ex in course.exercises()}
    folder = Path(folder)
    for nb in sorted(folder.rglob("*.ipynb")):
        rel = nb.relative_to(folder)
        if len(rel.parts) < 2 or ".ipynb_checkpoints" in rel.parts:
            continue
        yield rel.parts[0], known.get(nb.name), nb


class _Worker:
    def __init__(self, out: Path, k: int, use_sandbox: bool):
        self.dir = out / "workers" / f"w{k}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.grading.worker", str(self.dir), "1" if use_sandbox else "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True,
        )
        self.task, self.started = None, 0.0

    def send(self, task: dict) -> None:
        self.task, self.started = task, time.monotonic()
        self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def _record(out: Path, student: str, exercise: str, **fields) -> dict:
    res = {"student": student, "exercise": exercise, **fields}
    path = out / "results" / student / f"{exercise}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(res, indent=1))
    return res


def grade(submissions: Path, out: Path, workers: int | None = None, regrade: bool = False,
          allow_unsandboxed: bool = False, roster: Path | None = None, log=print) -> Path:
    out = Path(out).resolve()
    if roster is not None:  # kept beside the results, so a resumed batch keeps the names
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(roster, out / "roster.csv")
    use_sandbox = sandbox.available()
    if not use_sandbox and not allow_unsandboxed:
        raise SystemExit("grade: bubblewrap (bwrap) is not installed, so student code cannot be isolated. "
                         "Install it (apt-get install bubblewrap) or pass --unsandboxed to grade anyway.")
    limits = course.config()["grading"]["limits"]
    tasks = []
    for student, ex, path in find_submissions(Path(submissions)):
        if ex is None:
            _record(out, student, path.stem, status=Status.not_an_exercise, sha256=sha256(path),
                    detail=f"{path.name} is not the notebook of an exercise of this course")
            continue
        result = out / "results" / student / f"{ex.name}.json"
        if not regrade and result.exists():
            old = json.loads(result.read_text())
            # graded before, file unchanged; an older grader's record (its status no Status) is redone
            if old.get("sha256") == sha256(path) and old.get("status") in {s.value for s in Status}:
                continue
        stamp = path.with_name(f"{ex.name}.timestamp.txt")   # the LMS's submission time (./course collect)
        tasks.append({"student": student, "exercise": ex.name, "path": str(path.resolve()), "result": str(result),
                      "feedback": str(out / "feedback" / student / f"{ex.name}.html"),
                      "timestamp": str(stamp.resolve()) if stamp.exists() else None})
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(tasks) or 1))
    log(f"grade: {len(tasks)} submissions to grade with {n_workers} workers"
        + ("" if use_sandbox else " (UNSANDBOXED)"))
    book, people = CourseGradebook(out), roster_people(out)
    _run(tasks, out, n_workers, use_sandbox, float(limits["wall_s"]), log, record=lambda res: book.record(res, people))
    return write_csv(out)


def _run(tasks, out, n_workers, use_sandbox, wall_s, log, record) -> None:
    from tqdm import tqdm

    pending = list(tasks)
    pool = [_Worker(out, k, use_sandbox) for k in range(n_workers)]
    bar = tqdm(total=len(tasks), desc="grading", unit="nb", file=sys.stderr, disable=not tasks)
    try:
        while pending or any(w.task for w in pool):
            for w in pool:
                if w.task is None and pending:
                    task = pending.pop(0)
                    task["cgroup"] = f"{uuid.uuid4().hex[:12]}"
                    w.send(task)
            busy = [w for w in pool if w.task]
            ready, _, _ = select.select([w.proc.stdout for w in busy], [], [], 1.0)
            for i, w in enumerate(pool):
                if not w.task:
                    continue
                line = w.proc.stdout.readline() if w.proc.stdout in ready else None
                timed_out = time.monotonic() - w.started > wall_s
                died = line == "" or (line is None and w.proc.poll() is not None)
                if line and line.startswith("DONE "):
                    res = json.loads(Path(w.task["result"]).read_text())
                    try:   # into the course gradebook: this process is its only writer
                        record(res)
                    except Exception as e:  # noqa: BLE001 - the record and the table still have it
                        log(f"{res['student']}/{res['exercise']}: not copied into the course gradebook "
                            f"({type(e).__name__}: {e})")
                    log(f"{res['student']}/{res['exercise']}: {res.get('score', '-')}/{res.get('max_score', '-')}"
                        + ("" if res["status"] == Status.ok else f" {res['status']}: {res.get('detail', '')}"))
                    w.task = None
                    bar.update()
                elif timed_out or died:
                    t = w.task
                    why = f"time limit: grading took more than {wall_s:.0f} s" if timed_out else "the grading process died"
                    w.kill()
                    sandbox.kill_cgroup(t["cgroup"])
                    pool[i] = _Worker(out, i, use_sandbox)
                    key = salvage.last_key(Path(t["result"]).with_suffix(".cell"))
                    skip = t.get("skip", [])
                    if timed_out and key and key not in {s["key"] for s in skip} and len(skip) < MAX_SALVAGE:
                        # grade again without the cell that was running (salvage.py)
                        t["skip"] = skip + [{"key": key, "reason": f"the notebook ran past its time limit ({wall_s:.0f} s)"}]
                        pending.insert(0, t)
                        log(f"{t['student']}/{t['exercise']}: {why}; grading again without {salvage.describe(key)}")
                        continue
                    Path(t["result"]).with_suffix(".cell").unlink(missing_ok=True)
                    _record(out, t["student"], t["exercise"], status=Status.not_graded, detail=why, sha256=sha256(t["path"]))
                    log(f"{t['student']}/{t['exercise']}: {why}")
                    bar.update()
    except KeyboardInterrupt:
        log("grade: interrupted; finished submissions are kept, run the same command again to resume")
        raise
    finally:
        bar.close()
        for w in pool:
            try:
                w.proc.stdin.close()
            except OSError:
                pass
            if w.task:
                w.kill()
                sandbox.kill_cgroup(w.task["cgroup"])
            else:
                try:
                    w.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    w.kill()


ROSTER_COLUMNS = ["lms_id", "first_name", "last_name", "email"]


def roster_people(out: Path) -> dict[str, dict]:
    if not (out / "roster.csv").exists():
        return {}
    with open(out / "roster.csv", newline="") as f:
        return {r["id"]: r for r in csv.DictReader(f) if r.get("id")}


def write_csv(out: Path) -> Path:
    """grades.csv and summary.csv, from the course gradebook and the result records."""
    out = Path(out)
    scores = CourseGradebook(out).scores()
    rows = []
    for r in gradebook.records(out):
        row = gradebook.table_row(r, scores.get((r["student"], r["exercise"])))
        if r.get("feedback"):
            row["feedback"] = str(Path(r["feedback"]).relative_to(out))
        rows.append(row)
    people = roster_people(out)
    for row in rows if people else []:
        who = people.get(row["student"], {})
        row.update({k: who.get(k, "") for k in ROSTER_COLUMNS})
    # the status and its detail side by side, then the points per part, then what is pending
    fixed = ["student", *(ROSTER_COLUMNS if people else []), "exercise", "score", "max_score", "status", "detail"]
    tail = ["by_hand", "pending", "late_penalty", "submitted", "review", "seconds", "feedback"]
    extra = sorted({k for r in rows for k in r if not k.startswith("_")} - set(fixed) - set(tail))
    path = out / "grades.csv"
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fixed + extra + tail, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    write_summary(rows, out / "summary.csv")
    return path


def write_summary(rows: list[dict], path: Path) -> None:
    """Per exercise, for the instructor: mean score, full marks (every part scored so far at
    its maximum: written answers not graded yet do not count against it), the part most
    often failed."""
    from collections import Counter

    by_ex: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("max_score") is not None or r["status"] == Status.not_graded:
            by_ex.setdefault(r["exercise"], []).append(r)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["exercise", "submissions", "graded", "mean_score", "max_score", "full_marks",
                     "most_failed_part", "times_failed", "flagged_for_review"])
        for ex, rs in sorted(by_ex.items()):
            graded = [r for r in rs if r.get("max_score") is not None]
            scores = [float(r["score"]) for r in graded]
            top = max((float(r["max_score"]) for r in graded), default=0.0)
            fails = Counter(k.split(":", 1)[1] for r in graded for k, v in r.items()
                            if ":" in k and v and float(v.split("/")[0]) < float(v.split("/")[1]))
            part, n = fails.most_common(1)[0] if fails else ("", 0)
            w.writerow([ex, len(rs), len(graded), f"{sum(scores) / len(scores):.2f}" if scores else "", f"{top:g}",
                        sum(float(r["score"]) + r.get("_pending_points", 0.0) == float(r["max_score"]) for r in graded),
                        part, n, sum(bool(r.get("review")) for r in rs)])
