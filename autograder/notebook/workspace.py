"""An nbgrader course directory that this package drives through nbgrader's own CLI.

Workspaces live outside the book's tree (``_work/`` or a folder the user names), since
Jupyter Book 1 would publish any notebook it finds. Each holds ``source/`` (staged
notebooks), ``release/``, ``submitted/``, ``autograded/``, ``feedback/`` and
``gradebook.db``; ``generate_assignment --force`` wipes only ``release/<assignment>``.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

import nbformat

from autograder import course

from autograder.authoring import stage

# Python warnings (``file:line: SomeWarning: text``) on stderr must not zero a test cell.
WARNING_PATTERN = r"(?m)^.*:\d+: \w*Warning: "

CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db!r}
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = {pattern!r}
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 30
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.grading.feedback.HideTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
"""


def kernel_env(threads: int = 1) -> dict:
    """Environment for nbgrader and the kernels it starts: short runs, one torch thread."""
    env = dict(os.environ)
    env.update(
        DLCOURSE_SCALE="short",
        DLCOURSE_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        MPLBACKEND="module://matplotlib_inline.backend_inline",
        PYTHONPATH=os.pathsep.join(filter(None, [str(course.ROOT), env.get("PYTHONPATH")])),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


class Workspace:
    def __init__(self, root: Path, timeout: int | None = None, kernel_name: str | None = None, ipc: str | None = None,
                 on_cell_execute=None, judge=None):
        self.root = Path(root).resolve()
        self.on_cell_execute = on_cell_execute  # nbclient hook (salvage.Tracker)
        self.judge = judge                      # judge.server.Judge: its verdicts score the graded cells
        self.root.mkdir(parents=True, exist_ok=True)
        timeout = timeout or int(course.config()["grading"]["cell_timeout_s"])
        (self.root / "nbgrader_config.py").write_text(
            CONFIG.format(
                root=str(self.root),
                db=f"sqlite:///{self.root / 'gradebook.db'}",
                timeout=timeout,
                pattern=WARNING_PATTERN,
            )
            + (f"c.Execute.kernel_name = {kernel_name!r}\n" if kernel_name else "")
            # the sandboxed kernel has no network: talk to it over unix sockets
            + (f"c.KernelManager.transport = 'ipc'\nc.KernelManager.ip = {ipc!r}\n" if ipc else "")
        )

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @functools.cached_property
    def api(self):
        """nbgrader's own Python API, in this process: its imports (~6 s) are paid once
        per batch instead of once per nbgrader command."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        if self.on_cell_execute is not None:
            cfg.Execute.on_cell_execute = self.on_cell_execute
        if self.judge is not None:
            from nbconvert.preprocessors import ClearMetadataPreprocessor
            from nbgrader import preprocessors as P

            from autograder.judge.server import JudgeVerdicts

            # nbgrader's own list with the judge's verdicts written just before they are scored
            cfg.Autograde.autograde_preprocessors = [
                P.Execute, P.IgnorePattern, ClearMetadataPreprocessor, P.LimitOutput, JudgeVerdicts,
                P.SaveAutoGrades, P.AssignLatePenalties, P.CheckCellMetadata]
            cfg.JudgeVerdicts.judge = self.judge
        os.environ.update(kernel_env())  # the kernels nbgrader starts inherit this
        return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)

    def _call(self, what: str, *args, **kw) -> dict:
        res = getattr(self.api, what)(*args, **kw)
        if not res.get("success"):
            res["message"] = _last_error(res)
        return res

    def add_source(self, ex: course.Exercise) -> Path:
        """Stage the exercise's source notebook (with the install cell)."""
        nb = stage.stage(nbformat.read(ex.source, as_version=4))
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
        return self.root / "release" / ex.name / ex.notebook

    def submit(self, student: str, ex: course.Exercise, notebook: Path) -> None:
        folder = self.root / "submitted" / student / ex.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        shutil.copyfile(notebook, folder / ex.notebook)

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
