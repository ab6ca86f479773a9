"""``./course test``: the whole test suite, in stages, with each stage's time printed.

1. build the website (warnings are errors; explanation pages executed, cached);
2. pytest on two workers (one torch thread each): helper library, pipeline units, the
   exercise contract for every exercise, end-to-end grading, the built site.
"""
from __future__ import annotations

import subprocess
import sys
import time

from autograder import course
from autograder.env import child as child_env, test_workers
from autograder.publishing.site import build


def run(pytest_args=()) -> int:
    times = {}
    t0 = time.monotonic()
    rc = build()
    times["site build"] = time.monotonic() - t0
    if rc != 0:
        print("test: the site build failed; not running pytest")
        return rc
    env = child_env(None, 1)   # two workers on two cores: one thread each, or they spin
    cmd = [sys.executable, "-m", "pytest", "-n", str(test_workers()), "--durations=40", "-p", "no:cacheprovider", *pytest_args]
    t0 = time.monotonic()
    rc = subprocess.call(cmd, cwd=course.ROOT, env=env)
    times["pytest"] = time.monotonic() - t0
    print("stage times: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + f", total {sum(times.values()):.0f} s")
    return rc
