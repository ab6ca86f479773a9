import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Several test processes run at once (pytest-xdist): one torch thread each.
os.environ.setdefault("DLCOURSE_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from autograder import course  # noqa: E402

ROOT = course.ROOT


def pytest_generate_tests(metafunc):
    if "ex" in metafunc.fixturenames:
        exs = course.exercises()
        metafunc.parametrize("ex", exs, ids=[e.name for e in exs])


def run_cli(*args, check=True) -> subprocess.CompletedProcess:
    """The ./course commands, as a learner or instructor runs them (own process)."""
    proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"course {' '.join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def site() -> Path:
    index = course.SITE / "index.html"
    if not index.exists():
        pytest.fail("the website is not built: run ./course site (./course test builds it first)")
    return course.SITE


def once_per_session(tmp_path_factory, worker_id, name: str, make) -> dict:
    """make(folder) -> JSON-able dict, computed once per test session: under pytest-xdist the
    first worker to take the lock computes it into the session's shared folder, the others
    wait for it and read it (a grading batch keeps both cores busy on its own)."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = shared / name / "result.json"
        if not done.exists():
            (shared / name).mkdir(exist_ok=True)
            done.write_text(json.dumps(make(shared / name)))
    return json.loads(done.read_text())
