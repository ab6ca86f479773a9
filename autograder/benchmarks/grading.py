"""Benchmark of the grader: throughput against plain nbgrader, and the overhead per submission.

Grades N copies of a mixed set of submissions (solution, stub, accepted variant, two
mutants, of two exercises) twice in one run:

* plain nbgrader: one ``nbgrader autograde`` command per exercise, which grades the
  students one after the other (what an instructor gets out of the box). Its graded cells
  find no judge and do no hidden-test work, so this baseline is cheaper than the old
  in-kernel hidden tests were: the ratio below understates our gain;
* the project's grader (``./course grade``): sandboxed, one worker per core, resumable,
  the judge running every hidden test, with feedback and the grades table.

Prints the throughput ratio (target >= 2.5 on 2 cores) and our per-submission overhead
above the notebook's own execution time (target <= 2 s): worker-seconds per submission
minus the time the kernel spent executing the notebook's cells (nbclient's timing
metadata in the autograded notebooks; the judge's work happens while a graded cell runs,
so it counts as the notebook's execution).

``./course bench grading`` (env DLCOURSE_BENCH_COPIES, default 4: 4 x 10 submissions;
DLCOURSE_BENCH_PLAIN=0 skips the plain nbgrader run and prints the overhead only).
"""
from __future__ import annotations

import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder import course
from autograder.authoring import contract
from autograder.authoring import variants
from autograder.benchmarks.run import target
from autograder.notebook.workspace import Workspace, kernel_env

EXERCISES = ("attention", "activations")


def mixed_set(dest: Path, copies: int) -> int:
    """dest/<student>/<notebook>: per exercise and copy, 5 kinds of submission."""
    n = 0
    for name in EXERCISES:
        ex = course.exercise(name)
        src, stu = ex.nb, nbformat.read(ex.student, as_version=4)
        plan, sol = contract.plan_for(ex), ex.solutions
        kinds = {"solution": variants.submission(stu, src), "stub": stu}
        picked = {"variant": [k for k in plan if k.startswith("variant:")][0],
                  "mutant1": [k for k in plan if k.startswith("mutant:")][0],
                  "mutant2": [k for k in plan if k.startswith("mutant:")][-1]}
        for kind, key in picked.items():
            ch = plan[key]
            kinds[kind] = variants.submission(stu, src, {ch.item: ch.apply(sol[ch.item])})
        for c in range(copies):
            for kind, nb in kinds.items():
                folder = dest / f"c{c}_{kind}"
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, folder / ex.notebook)
                n += 1
    return n


def plain_nbgrader(subs: Path, work: Path) -> float:
    """Serial ``nbgrader autograde``, same staged notebooks, its own defaults otherwise."""
    ws = Workspace(work)
    for name in EXERCISES:
        ex = course.exercise(name)
        ws.add_source(ex)
        ws.generate(ex)
        for nb in subs.glob(f"*/{ex.notebook}"):
            ws.submit(nb.parent.name, ex, nb)
    env = kernel_env(threads=os.cpu_count() or 1)   # one grader alone may use every core
    env.pop("DLCOURSE_SANDBOX", None)
    t0 = time.monotonic()
    for name in EXERCISES:
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name, "--force"],
                       cwd=work, env=env, check=True, capture_output=True)
    return time.monotonic() - t0


def execution_seconds(nb_path: Path) -> float:
    """Time the kernel spent executing the cells (nbclient's timing metadata)."""
    total = 0.0
    for cell in nbformat.read(nb_path, as_version=4).cells:
        t = cell.get("metadata", {}).get("execution", {})
        a, b = t.get("iopub.execute_input"), t.get("shell.execute_reply")
        if a and b:
            parse = lambda s: datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
            total += (parse(b) - parse(a)).total_seconds()
    return total


def main() -> None:
    from autograder.grading.batch import grade

    copies = int(os.environ.get("DLCOURSE_BENCH_COPIES", "4"))
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dlc-gradebench-") as tmp:
        tmp = Path(tmp)
        n = mixed_set(tmp / "subs", copies)
        print(f"{n} submissions ({copies} copies x 5 kinds x {len(EXERCISES)} exercises), {cores} cores", flush=True)
        plain = plain_nbgrader(tmp / "subs", tmp / "plain") if os.environ.get("DLCOURSE_BENCH_PLAIN", "1") != "0" else None
        if plain is not None:
            print(f"plain nbgrader autograde, serial: {plain:.1f} s ({plain / n:.2f} s per submission)", flush=True)
        t0 = time.monotonic()
        grade(tmp / "subs", tmp / "ours", log=lambda *_: None)
        ours = time.monotonic() - t0
        workers = min(cores, n)
        print(f"./course grade, {workers} sandboxed workers: {ours:.1f} s ({ours / n:.2f} s per submission)", flush=True)
        import json

        phases: dict[str, list[float]] = {}
        for f in (tmp / "ours" / "results").glob("*/*.json"):
            res = json.loads(f.read_text())
            for k, v in res.get("timing", {}).items():
                phases.setdefault(k, []).append(v)
            phases.setdefault("judge (inside autograde)", []).append(
                sum(v["seconds"] for v in res.get("judge", {}).values()))
        print("per submission, mean seconds in a worker: "
              + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in phases.items()), flush=True)
        executed = [execution_seconds(p) for p in (tmp / "ours" / "workers").glob("w*/nbgrader/autograded/*/*/*.ipynb")]
        own = sum(executed) / max(1, len(executed))
        per_sub = ours * workers / n
        if plain is not None:
            target("grading throughput vs plain serial nbgrader autograde",
                   f"{plain / ours:.2f}x ({n} submissions: {plain:.0f} s plain, {ours:.0f} s ours on {workers} workers)",
                   ">= 2.5 on 2 cores", plain / ours >= 2.5)
        graded = sum(phases.get("total", [0.0])) / max(1, len(phases.get("total", [])))
        target("grading overhead per submission above the notebook's own execution",
               f"{per_sub - own:.1f} s ({per_sub:.1f} worker-s per submission, of which the kernel executed "
               f"cells for {own:.1f} s; mean of {len(executed)} notebooks. Split: {graded - own:.1f} s in grading "
               f"each submission, {per_sub - graded:.1f} s the workers' start (imports, fork server, nbgrader's "
               f"generate per exercise) spread over {n / workers:.0f} submissions each)", "<= 2 s", per_sub - own <= 2)


if __name__ == "__main__":
    main()
