"""Honest run times: how long each exercise notebook takes on the build machine.

What is timed is what a learner runs: the exercise notebook with the solution filled in,
top to bottom, at full size (``DLCOURSE_SCALE=full``, the learner's default), visible checks
included and hidden tests left out (nbgrader strips them from the student notebook). It
runs in a fresh kernel (``python3`` of the course virtualenv, the repository on the path),
timed from kernel start to the end of the last cell.

Threads: one torch thread, unless ``DLCOURSE_RUNTIME_THREADS`` says otherwise (a number,
or ``auto`` for torch's default, one per core). For these small models one thread is about
as fast as two on a 2-core machine (README, "Threads and run sizes"), and it keeps the figure honest on a build
machine that is busy with other work: there, torch threads competing for the cores spin
instead of working. Measured on a 2-core machine at load ~7: the checkpointing notebook
took 118 s wall / 54 s CPU with 2 threads and 19 s / 9 s with one; the ViT notebook's
training cell passed 30 minutes with 2 threads. Each entry records its thread count, the
kernel's CPU seconds and the load average before the run; the build warns when the kernel
had the CPU for less than 75% of the run (a busy machine: measure again).

The record lives in each exercise's folder as ``runtime.json`` (committed), keyed by a
hash of what determines the time: the code the timed notebook runs and the helper library
``dlcourse/``. ``./course site`` re-measures only records that are missing or stale, so a
fresh clone with up-to-date records measures nothing;
``./course site --remeasure [NAME...]`` measures again anyway. The site's extension
(``_ext/course_site.py``) shows the times on each exercise page and on the landing page.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import re
import tempfile
import time

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from autograder import course
from autograder.env import child as child_env, runtime_threads
from autograder.notebook.transforms import AddInstallCell, FillSolutions

METHOD = 2  # bump when the way of timing changes: every entry becomes stale
CELL_TIMEOUT_S = 1800
BUSY_RATIO = 0.75  # kernel CPU seconds below this share of the wall time: it waited for a busy machine


def timed_notebook(ex: course.Exercise) -> nbformat.NotebookNode:
    """The learner's notebook with the reference solution filled in: solution markers
    dropped, no outputs (graded cells only call the grading agent, a no-op outside grading)."""
    nb = ex.copy_nb()
    for step in (AddInstallCell(), FillSolutions(), ClearOutputPreprocessor()):   # install cell: as released
        nb, _ = step.preprocess(nb, {})
    return nb


# modules that act only while a notebook is graded (outside grading, serve() returns at once)
_GRADING_ONLY = {"agent", "wire"}


def _helper_files(code: str) -> list:
    """The helper library's files that code can reach: the package's __init__ (and what it
    imports), the modules code names (dlcourse.x, from dlcourse import x), and theirs."""
    root = course.ROOT / "dlcourse"
    names = {p.stem for p in root.glob("*.py")}
    todo, seen = ["__init__"] + _named(code, names), set(_GRADING_ONLY)
    while todo:
        name = todo.pop()
        if name in seen or name not in names:
            continue
        seen.add(name)
        todo += _named((root / f"{name}.py").read_text(), names)
    return sorted(root / f"{name}.py" for name in seen - _GRADING_ONLY)


def _named(code: str, names: set) -> list:
    found = re.findall(r"(?:from\s+dlcourse\.|import\s+dlcourse\.|from\s+\.|dlcourse\.)(\w+)", code)
    for group in re.findall(r"from\s+(?:dlcourse|\.)\s+import\s+\(?([\w\s,]+)\)?", code):
        found += [w.strip() for w in group.split(",")]
    return [n for n in found if n in names]


def key(ex: course.Exercise) -> str:
    """Hash of what determines the run time: the code cells the timed notebook runs, in
    order (so a typo fixed in the text or a hidden test changed costs no re-measuring),
    and the helper library's files those cells can reach (a new helper module used by
    another exercise leaves this one's record valid)."""
    h = hashlib.sha256(f"method {METHOD}\n".encode())
    code = [cell.source for cell in timed_notebook(ex).cells if cell.cell_type == "code"]
    for source in code:
        h.update(b"\0cell\0" + source.encode())
    for f in _helper_files("\n".join(code)):
        h.update(b"\0file\0" + f.relative_to(course.ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def load() -> dict:
    """{exercise name: its runtime.json entry} for every exercise that has one."""
    return {ex.name: entry for ex in course.exercises() if (entry := ex.runtime()) is not None}


def save(ex: course.Exercise, entry: dict) -> None:
    ex.runtime_file.write_text(json.dumps(entry, indent=2) + "\n")


def stale() -> list[course.Exercise]:
    """Exercises whose record is missing or whose key no longer matches."""
    return [ex for ex in course.exercises() if (ex.runtime() or {}).get("key") != key(ex)]


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure(ex: course.Exercise) -> dict:
    """Run the timed notebook once in a fresh kernel; return its runtime.json record. The
    same run draws the exercise page's previews when they are stale (previews.py)."""
    from autograder.publishing import previews

    entry, nb = run(ex)
    if ex in previews.stale():
        previews.save(ex, nb)
    return entry


def run(ex: course.Exercise) -> tuple[dict, nbformat.NotebookNode]:
    """The timed notebook run once in a fresh kernel: its runtime.json record and the
    executed notebook."""
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
        with client.setup_kernel(env=kernel_env()):
            for index, cell in enumerate(nb.cells[:n]):
                client.execute_cell(cell, index)
            seconds = time.monotonic() - t0
            client.execute_cell(probe, n)
    threads, cpu = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream").split()
    nb.cells = nb.cells[:n]
    return {
        "key": key(ex),
        "seconds": round(seconds, 1),
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "torch_threads": int(threads),
        "cpu_seconds": round(float(cpu), 1),  # the kernel's user + system time; far below seconds: it waited for a busy machine
        "load_before": None if load_avg is None else round(load_avg, 1),  # 1-minute load average: was the machine quiet?
    }, nb


def kernel_env() -> dict:
    """Full size, ``DLCOURSE_RUNTIME_THREADS`` torch threads (see the module's docstring)."""
    return child_env("full", runtime_threads(), mpl="inline")


class MeasureError(RuntimeError):
    pass


def update(force=None) -> list[course.Exercise]:
    """Measure the missing and stale records (and ``force``: a list of names, or [] for
    all) and write each exercise's runtime.json as soon as it is measured. Returns what
    was measured."""
    todo = stale()
    if force is not None:
        chosen = [course.exercise(n) for n in force] if force else list(course.exercises())
        todo += [ex for ex in chosen if ex not in todo]
    for ex in todo:
        print(f"runtimes: running {ex} (solution filled in, full size) ...", flush=True)
        try:
            e = measure(ex)
        except Exception as err:  # a broken solution notebook, a cell past CELL_TIMEOUT_S
            raise MeasureError(f"{ex}: the solved notebook failed while being timed: "
                               f"{type(err).__name__}: {str(err).strip()[-2000:]}") from None
        save(ex, e)
        print(f"runtimes: {ex} ran in {e['seconds']:.1f} s ({e['cpu_seconds']:.1f} s of CPU; "
              f"{e['torch_threads']} torch thread(s), {e['cpus']} CPUs)", flush=True)
        if e["cpu_seconds"] < BUSY_RATIO * e["seconds"]:
            print(f"runtimes: warning: the kernel had the CPU for only {e['cpu_seconds'] / e['seconds']:.0%} of the run "
                  f"(load average {e['load_before']} before it): the machine was busy and this time is too long; "
                  f"measure again on a quiet machine (./course site --remeasure {ex.name})", flush=True)
        if e["seconds"] > ex.meta.time_budget_s:
            print(f"runtimes: warning: {ex} took {e['seconds']:.0f} s, over its budget of {ex.meta.time_budget_s:g} s "
                  f"(exercise.toml)", flush=True)
    return todo
