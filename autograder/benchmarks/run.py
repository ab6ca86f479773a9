"""The benchmark: every quantitative target of the syllabus, measured and printed.

Each exercise may have ``solutions/<chapter>/<name>/bench.py`` with a ``main()`` that
measures its targets with the reference solution (``autograder.authoring.reference.load``) at full
size and reports each one through ``target(...)``. ``./course bench [NAME...]`` runs them one
at a time (each in its own process, all cores) and ends with a table of every target.
The name ``site`` stands for the site build's own benchmark (``autograder/sitebench.py``:
cold, cached and one-page-touched build times); with no name, everything runs.
Outside CI: it takes minutes and timings need a quiet machine.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time

from autograder import course
from autograder.env import child as child_env

_MARK = "@@TARGET "


def target(name: str, measured: str, bar: str, met: bool) -> bool:
    """Print one target's measured figure and its bar; used by the bench.py files."""
    print(f"{'MET   ' if met else 'MISSED'} {name}: {measured} (target: {bar})", flush=True)
    print(_MARK + json.dumps({"name": name, "measured": measured, "bar": bar, "met": bool(met)}), flush=True)
    return met


# benches of the project itself rather than of one exercise: name -> module
PROJECT = {"grading": "autograder.benchmarks.grading", "site": "autograder.benchmarks.site"}


def run(names=()) -> int:
    unknown = [n for n in names if n not in PROJECT]
    try:
        chosen = [course.exercise(n) for n in unknown] or ([] if names else course.exercises())
    except course.UnknownExercise as e:   # the project's own benches are names too
        raise course.UnknownExercise(f"{e}; or a bench of the project: {', '.join(PROJECT)}") from None
    jobs = [(str(ex), [sys.executable, str(ex.bench_file)], ex.folder) for ex in chosen if ex.bench_file.exists()]
    jobs += [(name, [sys.executable, "-m", mod], course.ROOT) for name, mod in PROJECT.items()
             if name in names or not names]
    env = child_env("full", "auto")   # a benchmark has the machine: every core
    rows = []
    for label, cmd, cwd in jobs:
        print(f"== {label}", flush=True)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            if line.startswith(_MARK):
                rows.append((label, json.loads(line[len(_MARK):])))
            else:
                print("  " + line, end="", flush=True)
        if proc.wait() != 0:
            rows.append((label, {"name": "bench", "measured": f"exit {proc.returncode}", "bar": "runs", "met": False}))
        print(f"   ({time.monotonic() - t0:.0f} s)")
    print("\nSummary of targets")
    for ex, r in rows:
        print(f"  {'MET   ' if r['met'] else 'MISSED'} {ex}: {r['name']}: {r['measured']} (target: {r['bar']})")
    missed = sum(not r["met"] for _, r in rows)
    print(f"{len(rows) - missed} met, {missed} missed")
    return 1 if missed else 0
