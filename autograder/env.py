"""The environment of every process the tool starts, and the variables it reads.

Run size and thread count are decided here and nowhere else, so a notebook run for a test,
a grade, a benchmark, a timing or the website gets what its purpose needs, whatever the
calling shell had set (a benchmark started from a one-thread shell still gets every core;
the website is built at full size even from a shell that asked for short runs).

The packages ``autograder`` and ``dlcourse`` are installed in the clone's virtualenv
(``./course`` does it), so no child needs ``PYTHONPATH``.
"""
from __future__ import annotations

import os

# Every variable the course reads: name -> (default, what it does). The README's table
# is checked against this list.
VARIABLES = {
    "DLCOURSE_SCALE": ("full", "run size of the notebooks: `full` (learners, website, benchmarks, run times) "
                               "or `short` (tests, contract, grading); set by the tool for its own runs"),
    "DLCOURSE_THREADS": ("torch's default", "torch threads in a notebook; set by the tool for its own runs"),
    "DLCOURSE_RUNTIME_THREADS": ("1", "torch threads when the site build times the exercise notebooks "
                                      "(a number, or `auto` for one per core)"),
    "DLCOURSE_TEST_WORKERS": ("2 (at most the cores)", "pytest workers of `./course test`"),
    "DLCOURSE_GRADING": ("{}", "JSON that overrides keys of course.toml's [grading], e.g. "
                               "`{\"limits\": {\"wall_s\": 90}}`"),
    "DLCOURSE_VENV": ("~/.cache/dlcourse/venv-<hash>", "where `./course` keeps the shared virtualenv "
                                                       "(torch and the other requirements)"),
    "DLCOURSE_BENCH_COPIES": ("4", "copies of the mixed batch that `./course bench grading` grades"),
    "DLCOURSE_BENCH_PLAIN": ("1", "`0`: `./course bench grading` skips plain nbgrader and prints the overhead only"),
    "DLCOURSE_JUDGE": ("unset", "set by the grader: the judge's socket that graded cells connect to"),
    "DLCOURSE_JUDGE_TAG": ("unset", "set by the contract check: which mutant or variant a run is"),
    "DLCOURSE_FORKSERVER": ("1", "grading: `0` starts every kernel cold instead of forking it from the worker's "
                            "warm fork server (for comparison; both are sandboxed)"),
    "DLCOURSE_SANDBOX": ("unset", "set by the grader: the limits the sandboxed kernel's launcher applies"),
}

_THREAD_VARS = ("DLCOURSE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def child(scale: str | None, threads: int | str, mpl: str = "Agg", **extra: str) -> dict:
    """``os.environ`` for a child process that runs notebooks or torch code.

    ``scale``: ``full`` or ``short`` (None: the caller's). ``threads``: a number (torch, OpenMP and MKL all get
    it) or ``"auto"`` (none of them is set: one thread per core). ``mpl``: matplotlib's
    backend (``inline`` for kernels whose figures are kept)."""
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS and k != "PYTHONPATH"}
    if scale is not None:
        env["DLCOURSE_SCALE"] = scale
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline" if mpl == "inline" else mpl
    if threads != "auto":
        for var in _THREAD_VARS:
            env[var] = str(int(threads))
    env.update(extra)
    return env


def runtime_threads() -> int | str:
    """DLCOURSE_RUNTIME_THREADS: a whole number >= 1 or ``auto``."""
    value = os.environ.get("DLCOURSE_RUNTIME_THREADS", "1").strip() or "1"
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        from autograder.course import CourseError

        raise CourseError(f"DLCOURSE_RUNTIME_THREADS must be a whole number >= 1 or 'auto', got {value!r}")
    return int(value)


def test_workers() -> int:
    value = os.environ.get("DLCOURSE_TEST_WORKERS", "").strip()
    if not value:
        return min(os.cpu_count() or 2, 2)
    if not value.isdigit() or int(value) < 1:
        from autograder.course import CourseError

        raise CourseError(f"DLCOURSE_TEST_WORKERS must be a whole number >= 1, got {value!r}")
    return int(value)
