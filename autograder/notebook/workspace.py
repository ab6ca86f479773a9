"""An nbgrader course directory that this package drives through nbgrader's own CLI.

Workspaces live outside the book's tree (``_work/`` or a folder the user names), since
Jupyter Book 1 would publish any notebook it finds. Each holds ``source/`` (staged
notebooks), ``release/``, ``submitted/``, ``autograded/``, ``feedback/`` and
``gradebook.db``; ``generate_assignment --force`` wipes only ``release/<assignment>``.
"""
from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat

from autograder import course
from autograder.env import child as child_env
from autograder.notebook.transforms import staged

# Python warnings (``file:line: SomeWarning: text``) on stderr must not zero a test cell.
WARNING_PATTERN = r"(?m)^.*:\d+: \w*Warning: "

def nbgrader_config(root: Path, timeout: int, kernel_name: str | None = None, ipc: str | None = None,
                    db_url: str | None = None):
    """nbgrader's configuration for a workspace, as a traitlets ``Config``."""
    from traitlets.config import Config

    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    # the outputs are in once the last cell has run: a graceful shutdown only waits (3-5 s)
    c.Execute.shutdown_kernel = "immediate"
    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = WARNING_PATTERN
    c.LimitOutput.max_lines = 200
    c.LimitOutput.max_traceback = 30
    c.LateSubmissionPlugin.penalty_method = course.config()["grading"].get("late_penalty", "none")
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.GenerateFeedback.preprocessors = ["autograder.grading.feedback.GetGradesAndPending",
                                        "autograder.grading.feedback.HideTests",
                                        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    c.GenerateFeedback.exporter_class = "autograder.grading.feedback.CachedHTMLExporter"
    if kernel_name:
        c.Execute.kernel_name = kernel_name
    if ipc:  # the sandboxed kernel has no network: talk to it over unix sockets
        c.KernelManager.transport, c.KernelManager.ip = "ipc", ipc
    return c


def share_gradebook_engines() -> None:
    """One SQLAlchemy engine per database URL for the whole process. nbgrader opens a new
    ``Gradebook`` (so a new engine) for every step of every submission, and a new engine
    compiles every SQL statement again: ~0.2 s of each submission in a grading worker, where
    the gradebook is opened a dozen times per notebook. ``Gradebook.close`` disposes the
    engine's pool, which a later ``Gradebook`` simply refills."""
    import nbgrader.api as api

    if getattr(api.create_engine, "shared", False):
        return
    made: dict = {}
    real = api.create_engine

    def create_engine(url, **kw):
        key = (str(url), tuple(sorted(kw.items())))
        if key not in made:
            made[key] = real(url, **kw)
        return made[key]

    create_engine.shared = True
    api.create_engine = create_engine


def kernel_env(threads: int = 1) -> dict:
    """Environment for nbgrader and the kernels it starts: short runs, one torch thread."""
    return child_env("short", threads, mpl="inline", PYDEVD_DISABLE_FILE_VALIDATION="1",
                     PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


class Workspace:
    def __init__(self, root: Path, timeout: int | None = None, kernel_name: str | None = None, ipc: str | None = None,
                 on_cell_execute=None, db_url: str | None = None):
        self.root = Path(root).resolve()
        self.on_cell_execute = on_cell_execute  # nbclient hook (salvage.Tracker)
        self.root.mkdir(parents=True, exist_ok=True)
        timeout = timeout or int(course.config()["grading"]["cell_timeout_s"])
        self.config = nbgrader_config(self.root, timeout, kernel_name, ipc, db_url)
        self.save_config()

    def save_config(self) -> None:
        """The same settings for nbgrader's own tools run in this folder (command line, formgrader)."""
        (self.root / "nbgrader_config.json").write_text(json.dumps(self.config, indent=1))

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    @functools.cached_property
    def api(self):
        """nbgrader's own Python API, in this process: its imports (~6 s) are paid once
        per batch instead of once per nbgrader command."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        cfg = copy.deepcopy(self.config)
        if self.on_cell_execute is not None:
            cfg.Execute.on_cell_execute = self.on_cell_execute
        os.environ.update(kernel_env())  # the kernels nbgrader starts inherit this
        return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)

    def _call(self, what: str, *args, **kw) -> dict:
        res = getattr(self.api, what)(*args, **kw)
        if not res.get("success"):
            res["message"] = _last_error(res)
        return res

    def add_source(self, ex: course.Exercise) -> Path:
        """Stage the exercise's source notebook (with the install cell)."""
        nb = staged(ex)
        folder = self.root / "source" / ex.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / ex.notebook)
        return folder / ex.notebook

    def generate(self, ex: course.Exercise) -> Path:
        res = self._call("generate_assignment", ex.name, force=True)
        if not res["success"]:
            raise RuntimeError(f"generate_assignment {ex.name} failed:\n{res.get('log', '')}\n{res.get('error', '')}")
        due = course.config()["grading"].get("due", {}).get(ex.name)
        if due:   # nbgrader's late-penalty plugin compares each submission's timestamp with it
            from nbgrader.api import Gradebook

            with Gradebook(self.db_url) as gb:
                gb.update_or_create_assignment(ex.name, duedate=due)
        return self.root / "release" / ex.name / ex.notebook

    def submit(self, student: str, ex: course.Exercise, notebook: Path, timestamp: Path | None = None) -> None:
        """``timestamp``: nbgrader's timestamp.txt of the submission (the LMS's submission time)."""
        folder = self.root / "submitted" / student / ex.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        shutil.copyfile(notebook, folder / ex.notebook)
        if timestamp is not None:
            shutil.copyfile(timestamp, folder / "timestamp.txt")

    def autograde(self, student: str, ex: course.Exercise) -> dict:
        return self._call("autograde", ex.name, student, force=True)

    def feedback(self, student: str, ex: course.Exercise) -> Path:
        res = self._call("generate_feedback", ex.name, student, force=True)
        if not res["success"]:
            raise RuntimeError(f"generate_feedback failed for {student}: {res['message']}")
        return self.root / "feedback" / student / ex.name / f"{ex.name}.html"


_KNOWN = [  # (text in nbgrader's log, what the instructor and learner are told)
    ("DeadKernelError", "the kernel died: the notebook crashed it, exited it or ran out of memory"),
    ("Kernel died", "the kernel died: the notebook crashed it, exited it or ran out of memory"),
    ("CellTimeoutError", "a cell ran longer than the per-cell time limit"),
    ("TimeoutError", "a cell ran longer than the per-cell time limit"),
    ("NotJSONError", "the file is not a valid notebook (not JSON)"),
    ("Notebook JSON is invalid", "the file is not a valid notebook"),
    ("checksum", "a read-only cell was changed"),
]


def _last_error(res: dict) -> str:
    """A readable reason for a failed nbgrader call (the full log is kept beside it)."""
    text = (res.get("error") or "") + "\n" + (res.get("log") or "")
    for needle, message in _KNOWN:
        if needle in text:
            return message
    lines = [l.strip() for l in text.splitlines() if l.strip() and "see the the above traceback" not in l]
    errs = [l for l in lines if "Error" in l]
    return (errs or lines or ["nbgrader failed"])[-1][:300]
