"""Honest run times: how long each exercise notebook takes on the build machine.

What is timed is what a learner runs: the exercise notebook with the solution filled in,
top to bottom, at full size (``DLCOURSE_SCALE=full``, the learner's default), visible checks
included and hidden tests left out (nbgrader strips them from the student notebook). It
runs in a fresh kernel (``python3`` of the course virtualenv, the repository on the path),
timed from kernel start to the end of the last cell.

Threads: one torch thread, unless ``DLCOURSE_RUNTIME_THREADS`` says otherwise (a number,
or ``auto`` for torch's default, one per core). For these small models one thread is about
as fast as two on a 2-core machine (design.md), and it keeps the figure honest on a build
machine that is busy with other work: there, torch threads competing for the cores spin
instead of working. Measured on a 2-core machine at load ~7: the checkpointing notebook
took 118 s wall / 54 s CPU with 2 threads and 19 s / 9 s with one; the ViT notebook's
training cell passed 30 minutes with 2 threads. Each entry records its thread count, the
kernel's CPU seconds and the load average before the run; the build warns when the kernel
had the CPU for less than 75% of the run (a busy machine: measure again).

The results live in ``runtimes.json`` at the repository root (committed), one entry per
exercise, keyed by a hash of what determines the time: the code the timed notebook runs
and the helper library ``dlcourse/``. ``./course site`` re-measures only entries that are
missing or stale, so a fresh clone with an up-to-date file measures nothing;
``./course site --remeasure [NAME...]`` measures again anyway. The site's extension
(``_ext/course_site.py``) shows the times on each exercise page and on the landing page.
"""
from __future__ import annotations

import copy
import datetime
import hashlib
import json
import os
import platform
import tempfile
import time

import nbformat

from autograder.notebook import cells as C
from autograder import course
from autograder.publishing.bundle import with_install_cell

FILE = course.ROOT / "runtimes.json"
METHOD = 2  # bump when the way of timing changes: every entry becomes stale
CELL_TIMEOUT_S = 1800
BUSY_RATIO = 0.75  # kernel CPU seconds below this share of the wall time: it waited for a busy machine


def timed_notebook(ex: course.Exercise) -> nbformat.NotebookNode:
    """The learner's notebook with the reference solution filled in: solution markers
    dropped, no outputs (graded cells only call the grading agent, a no-op outside grading)."""
    nb = with_install_cell(copy.deepcopy(C.read(ex.source)))   # as the release step does
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if C.is_solution(cell):
            cell.source = C.solution_body(cell.source)
    return nb


def _helper_files() -> list:
    root = course.ROOT / "dlcourse"
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def key(ex: course.Exercise) -> str:
    """Hash of what determines the run time: the code cells the timed notebook runs, in
    order (so a typo fixed in the text or a hidden test changed costs no re-measuring),
    and every file of the helper library."""
    h = hashlib.sha256(f"method {METHOD}\n".encode())
    for cell in timed_notebook(ex).cells:
        if cell.cell_type == "code":
            h.update(b"\0cell\0" + cell.source.encode())
    for f in _helper_files():
        h.update(b"\0file\0" + f.relative_to(course.ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def load() -> dict:
    return json.loads(FILE.read_text()) if FILE.exists() else {}


def save(data: dict) -> None:
    FILE.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def stale(data: dict | None = None) -> list[course.Exercise]:
    """Exercises whose entry is missing or whose key no longer matches."""
    data = load() if data is None else data
    return [ex for ex in course.exercises() if data.get(ex.name, {}).get("key") != key(ex)]


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _kernel_env() -> dict:
    env = dict(os.environ, DLCOURSE_SCALE="full", MPLBACKEND="module://matplotlib_inline.backend_inline")
    for var in ("DLCOURSE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # whatever the caller had set
        env.pop(var, None)
    threads = os.environ.get("DLCOURSE_RUNTIME_THREADS", "1").strip() or "1"
    if threads != "auto":  # see the module's docstring
        env["DLCOURSE_THREADS"] = env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(int(threads))
    env["PYTHONPATH"] = os.pathsep.join([str(course.ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                           if p and p != str(course.ROOT)])
    return env


def measure(ex: course.Exercise) -> dict:
    """Run the timed notebook once in a fresh kernel; return its runtimes.json entry."""
    from nbclient import NotebookClient
    from traitlets.config import Config

    nb = timed_notebook(ex)
    n = len(nb.cells)
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    probe = nbformat.v4.new_code_cell(  # after the clock stops: torch's threads, the kernel's CPU seconds
        "import resource as _r, torch as _t\n"
        "print(_t.get_num_threads(), sum(u.ru_utime + u.ru_stime for u in map(_r.getrusage, (_r.RUSAGE_SELF, _r.RUSAGE_CHILDREN))))")
    nb.cells.append(probe)
    with tempfile.TemporaryDirectory(prefix=f"runtime-{ex.name}-") as cwd:  # whatever it writes stays out of the repo
        cfg = Config()
        cfg.KernelManager.transport, cfg.KernelManager.ip = "ipc", os.path.join(cwd, ".kernel")
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=False,
                                resources={"metadata": {"path": cwd}}, config=cfg)
        t0 = time.monotonic()
        with client.setup_kernel(env=_kernel_env()):
            for index, cell in enumerate(nb.cells[:n]):
                client.execute_cell(cell, index)
            seconds = time.monotonic() - t0
            client.execute_cell(probe, n)
    threads, cpu = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream").split()
    return {
        "chapter": ex.chapter,
        "key": key(ex),
        "seconds": round(seconds, 1),
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "torch_threads": int(threads),
        "cpu_seconds": round(float(cpu), 1),  # the kernel's user + system time; far below seconds: it waited for a busy machine
        "load_before": None if load_avg is None else round(load_avg, 1),  # 1-minute load average: was the machine quiet?
    }


class MeasureError(RuntimeError):
    pass


def update(force=None) -> list[course.Exercise]:
    """Measure the missing and stale entries (and ``force``: a list of names, or [] for
    all) and write runtimes.json after each one. Returns what was measured."""
    data = load()
    known = {ex.name for ex in course.exercises()}
    removed = [name for name in data if name not in known]  # exercises removed or renamed
    for name in removed:
        del data[name]
    todo = stale(data)
    if force is not None:
        todo += [ex for ex in course.exercises() if (not force or ex.name in force) and ex not in todo]
        unknown = set(force or ()) - known
        if unknown:
            raise KeyError(f"no exercise named {sorted(unknown)}")
    for ex in todo:
        print(f"runtimes: running {ex} (solution filled in, full size) ...", flush=True)
        try:
            data[ex.name] = measure(ex)
        except Exception as err:  # a broken solution notebook, a cell past CELL_TIMEOUT_S
            raise MeasureError(f"{ex}: the solved notebook failed while being timed: "
                               f"{type(err).__name__}: {str(err).strip()[-2000:]}") from None
        e = data[ex.name]
        print(f"runtimes: {ex} ran in {e['seconds']:.1f} s ({e['cpu_seconds']:.1f} s of CPU; "
              f"{e['torch_threads']} torch thread(s), {e['cpus']} CPUs)", flush=True)
        if e["cpu_seconds"] < BUSY_RATIO * e["seconds"]:
            print(f"runtimes: warning: the kernel had the CPU for only {e['cpu_seconds'] / e['seconds']:.0%} of the run "
                  f"(load average {e['load_before']} before it): the machine was busy and this time is too long; "
                  f"measure again on a quiet machine (./course site --remeasure {ex.name})", flush=True)
        save(data)
    if removed or not FILE.exists():
        save(data)
    return todo
