"""A grading worker: one long-lived process with its own nbgrader workspace.

``python -m autograder.grading.worker WORKDIR SANDBOX(0|1)`` reads one JSON task per line on stdin
({"student", "exercise", "path", "result", "feedback", "cgroup"}), grades it with nbgrader's
API (imported once) while the judge scores the graded cells, writes the result JSON file
(``grade_one``'s record) and prints ``DONE <result file>``. The parent (``batch``) enforces the wall-time limit by killing the worker and the
submission's cgroup, then starts a fresh worker.
"""
from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from autograder import course
from autograder.grading import salvage
from autograder.grading import sandbox
from autograder.grading import scan
from autograder.grading import zygote
from autograder.judge import meter
from autograder.judge.server import Judge, JudgeVerdicts
from autograder.judge.suite import hidden_tests
from autograder.notebook import cells as C
from autograder.notebook import transforms
from autograder.notebook.workspace import Workspace, share_gradebook_engines


class Status(enum.StrEnum):
    """What became of a submission: the ``status`` of its result record and of its row in
    grades.csv. The record's ``detail`` says why, in words."""
    ok = enum.auto()               # graded
    partly_graded = enum.auto()    # graded without the cells that killed the kernel or never ended
    not_graded = enum.auto()       # nbgrader gave up, the time limit, the grader crashed
    not_an_exercise = enum.auto()  # no exercise of the course has this notebook's name


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def submission_grades(ws: Workspace, ex: course.Exercise, student: str) -> dict:
    """What the worker's gradebook says of a graded submission: ``grades`` {grade cell:
    {"auto": points or None, "max": points, "pending": written and not yet scored}}, the
    submission's ``timestamp`` and nbgrader's ``late_penalty``."""
    from nbgrader.api import Gradebook

    with Gradebook(ws.db_url) as gb:
        nb = gb.find_submission_notebook(ex.name, ex.name, student)
        stamp = nb.assignment.timestamp
        return {"grades": {g.name: {"auto": g.auto_score, "max": g.max_score, "pending": bool(g.needs_manual_grade)}
                           for g in nb.grades},
                "timestamp": stamp.isoformat() if stamp else None,
                "late_penalty": nb.late_submission_penalty or 0.0}


def sanitize(path: Path, dest: Path) -> list[str]:
    """Copy a submission, dropping code cells added above the locked set-up cell: the
    notebook starts as the course wrote it (the install cell and set-up stay; nbgrader
    checks them), and an instructor reading it is told what was removed."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    dropped = transforms.drop_cells_above_setup(nb)
    nbformat.write(nb, dest)
    return [f"{dropped} code cell(s) above the set-up cell removed"] if dropped else []


def solution_sources(path: Path) -> dict[str, str]:
    """{item: source} of the submission's solution cells, for the judge's form checks."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - nbgrader reports a broken file itself
        return {}
    return {C.grade_id(c): c.source for c in nb.cells if C.is_solution(c) and isinstance(c.source, str)}


MAX_SALVAGE = 4   # cells neutralised per submission, at most


def grade_one(ws: Workspace, judge: Judge, task: dict, generated: set, tracker: salvage.Tracker) -> dict:
    """Run the notebook under nbgrader in the sandbox; the judge scores its graded cells."""
    ex = course.exercise(task["exercise"])
    student, path = task["student"], Path(task["path"])
    res = {"student": student, "exercise": ex.name, "sha256": sha256(path), "status": Status.ok, "detail": "",
           "review": "; ".join(scan.scan(path))}
    if ex.name not in generated:
        ws.add_source(ex)
        ws.generate(ex)
        generated.add(ex.name)
    scratch = Path(tempfile.mkdtemp(prefix="dlc-sub-"))
    try:
        return _grade(ws, judge, task, tracker, ex, scratch, res)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _grade(ws, judge, task, tracker, ex, scratch, res):
    """grade_one's work in a scratch folder that is removed afterwards."""
    student, path = task["student"], Path(task["path"])
    t0 = time.monotonic()
    clean = scratch / ex.notebook
    try:
        notes = sanitize(path, clean)
    except Exception:  # noqa: BLE001 - not a notebook: let nbgrader say so
        clean, notes = path, []
    if notes:
        res["review"] = "; ".join(filter(None, notes + [res["review"]]))
    timing: dict[str, float] = {}       # seconds per phase (the grading benchmark reads them)
    skip = list(task.get("skip", []))   # cells that killed the kernel before (see salvage.py)
    cell_file = Path(task["result"]).with_suffix(".cell")
    cell_file.parent.mkdir(parents=True, exist_ok=True)
    source = ex.nb
    sandboxed = ws.sandboxed
    os.environ["DLCOURSE_SANDBOX"] = json.dumps({**course.config()["grading"]["limits"], "cgroup": task["cgroup"]})
    while True:
        sub = clean
        if skip:
            import nbformat

            nb = nbformat.read(clean, as_version=4)
            salvage.neutralise(nb, skip)
            sub = clean.with_name("salvaged_" + clean.name)
            nbformat.write(nb, sub)
        ws.submit(student, ex, sub, Path(task["timestamp"]) if task.get("timestamp") else None)
        warm_kernels(ws)
        tracker.start(source, cell_file)
        judge.begin(hidden_tests(ex.name), course.term_seed(), solution_sources(sub))
        judge.meter = meter.cgroup_meter(sandbox.cgroup_dirs(task["cgroup"])) if sandboxed else None
        t1 = time.monotonic()
        try:
            out = ws.autograde(student, ex)
        finally:
            sandbox.kill_cgroup(task["cgroup"])
            timing["autograde"] = timing.get("autograde", 0.0) + time.monotonic() - t1
        key = tracker.key
        if out["success"] or not salvage.salvageable(tracker.stopped) or key is None \
                or key in {s["key"] for s in skip} or len(skip) >= MAX_SALVAGE:
            break
        skip.append({"key": key, "reason": out["message"]})
    cell_file.unlink(missing_ok=True)
    res["seconds"] = round(time.monotonic() - t0, 1)
    if not out["success"]:
        res["status"], res["detail"] = Status.not_graded, out["message"]
        Path(task["result"]).with_suffix(".log").write_text((out.get("log") or "") + (out.get("error") or ""))
        return res
    if skip:
        res["status"] = Status.partly_graded
        res["detail"] = "; ".join(f"{salvage.describe(s['key'])} was not run ({s['reason']})" for s in skip)
    res.update(submission_grades(ws, ex, student))
    res["score"] = sum(g["auto"] or 0.0 for g in res["grades"].values())
    res["max_score"] = sum(g["max"] for g in res["grades"].values())
    res["autograded"] = str(ws.root / "autograded" / student / ex.name / ex.notebook)
    res["judge"] = {gid: {"passed": v.passed, "seconds": round(v.seconds, 2), "calls": v.calls}
                    for gid, v in judge.verdicts.items()}
    unreached = [g for g in hidden_tests(ex.name).graded if g not in judge.verdicts]
    if unreached and not skip:   # a graded cell that never called the judge: changed or blanked
        res["review"] = "; ".join(filter(None, [f"hidden tests could not reach the code ({', '.join(unreached)})",
                                                res["review"]]))
    t1 = time.monotonic()
    html = ws.feedback(student, ex)
    timing["feedback"] = time.monotonic() - t1
    dest = Path(task["feedback"])
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(html, dest)
    res["feedback"] = str(dest)
    timing["total"] = time.monotonic() - t0
    res["timing"] = {k: round(v, 2) for k, v in timing.items()}
    return res


def autograde_pipeline(ws: Workspace, judge: Judge) -> None:
    """nbgrader's own autograde preprocessors, with salvage's Execute (it keeps the exception
    that stopped a run, for the salvage decision) and the judge's verdicts written into the
    graded cells just before nbgrader scores them."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader import preprocessors as P

    cfg = ws.api.config
    cfg.Autograde.autograde_preprocessors = [
        salvage.recording_execute(), P.IgnorePattern, ClearMetadataPreprocessor, P.LimitOutput, JudgeVerdicts,
        P.SaveAutoGrades, P.AssignLatePenalties, P.CheckCellMetadata]
    cfg.JudgeVerdicts.judge = judge


def warm_kernels(ws: Workspace) -> None:
    """Kernels forked from the worker's fork server (zygote.py) when it runs here; a cold
    sandboxed kernel per submission otherwise. A fork server that died (a learner's code may
    kill it) is started again once per submission."""
    z = zygote.CURRENT
    if z is not None and not z.alive() and not z.start():
        zygote.CURRENT = z = None
    cfg = ws.api.config
    if z is not None:
        cfg.Execute.kernel_manager_class = zygote.ForkedKernelManager
    elif "kernel_manager_class" in cfg.Execute:
        del cfg.Execute["kernel_manager_class"]


def discard_files(ws: Workspace, student: str, ex_name: str, notebook: str) -> None:
    """Keep only the notebooks and the feedback page of a graded submission: files the
    notebook wrote while it ran (nbgrader copies its folder into autograded/ and feedback/)
    would otherwise stay, up to the file-size limit each, for every student."""
    for kind in ("submitted", "autograded", "feedback"):
        folder = ws.root / kind / student / ex_name
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.name not in (notebook, f"{ex_name}.html"):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)


def main(workdir: str, use_sandbox: str) -> None:
    warnings.filterwarnings("ignore")  # SQLAlchemy chatter from nbgrader's gradebook
    extra = {}
    if use_sandbox == "1":
        jup = Path(workdir) / "jupyter"
        sandbox.write_kernelspec(jup)
        os.environ["JUPYTER_PATH"] = str(jup)
        # unix socket paths must stay short (< 108 bytes): a private folder under /tmp
        ipc = tempfile.mkdtemp(prefix="dlc-ipc-")
        extra = {"kernel_name": sandbox.KERNEL_NAME, "ipc": ipc + "/k"}
    # the judge listens where the sandbox can reach it (the IPC folder is bound inside)
    sock_dir = extra["ipc"].rsplit("/", 1)[0] if extra else tempfile.mkdtemp(prefix="dlc-judge-")
    grading = course.config()["grading"]
    judge = Judge(f"{sock_dir}/judge.sock", call_timeout=float(grading.get("call_timeout_s", 60)),
                  reply_bytes=int(float(grading.get("reply_mb", 256)) * (1 << 20)))
    os.environ["DLCOURSE_JUDGE"] = judge.path
    tracker = salvage.Tracker(on_cell=judge.arm)
    # scratch: the course gradebook keeps the grades, and a gradebook left by an earlier batch
    # would refuse an exercise whose graded cells have changed since
    shutil.rmtree(Path(workdir) / "nbgrader", ignore_errors=True)
    ws = Workspace(Path(workdir) / "nbgrader", on_cell_execute=tracker, **extra)
    share_gradebook_engines()
    autograde_pipeline(ws, judge)
    ws.sandboxed = bool(extra)
    if extra and os.environ.get("DLCOURSE_FORKSERVER", "1") != "0":
        z = zygote.Zygote(ws.root / "autograded", sock_dir, course.config()["grading"]["limits"],
                          Path(workdir) / "forkserver.log")
        zygote.CURRENT = z if z.start() else None
    generated: set = set()
    for line in sys.stdin:
        task = json.loads(line)
        try:
            res = grade_one(ws, judge, task, generated, tracker)
        except Exception as e:  # noqa: BLE001 - one bad submission must not stop the batch
            res = {"student": task["student"], "exercise": task["exercise"], "sha256": sha256(task["path"]),
                   "status": Status.not_graded, "detail": f"{type(e).__name__}: {str(e)[:300]}"}
        finally:
            discard_files(ws, task["student"], task["exercise"], f"{task['exercise']}.ipynb")
        tmp = Path(task["result"]).with_suffix(".tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(res, indent=1))
        tmp.replace(task["result"])  # atomic: an interrupted batch never leaves half a result
        print("DONE " + task["result"], flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
