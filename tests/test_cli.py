"""Bad input on the command line: one clear line and a non-zero exit, never a traceback."""
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder import course
from autograder.notebook import cells as C

from conftest import ROOT


def _course(*args, env_extra=None, code=None):
    """``python -m autograder ARGS`` (what ./course runs), or ``code`` that calls its main."""
    env = dict(os.environ, **(env_extra or {}))
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "autograder", *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def _one_line(proc, words):
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert words in proc.stderr, proc.stderr


@pytest.mark.parametrize("args", [
    ["release", "atention"],
    ["contract", "atention"],
    ["bench", "atention"],
    ["collect", "atention", "download.zip", "subs"],
])
def test_unknown_exercise_lists_the_known_ones(args):
    known = ", ".join(e.name for e in course.exercises())
    _one_line(_course(*args), f"no exercise named 'atention' (known: {known})")


@pytest.mark.parametrize("args, words", [
    (["grade", "/no/such/folder", "/tmp/out"], "grade: no folder /no/such/folder"),
    (["collect", "attention", "/no/such/download.zip", "subs"], "collect: no file or folder /no/such/download.zip"),
    (["collect", "attention", "subs"], "collect: give the downloads and then the output folder"),
])
def test_missing_files_and_folders(args, words):
    _one_line(_course(*args), words)


@pytest.mark.parametrize("var, value, words", [
    ("DLCOURSE_THREADS", "abc", "DLCOURSE_THREADS must be a whole number >= 1, got 'abc'"),
    ("DLCOURSE_THREADS", "0", "DLCOURSE_THREADS must be a whole number >= 1, got '0'"),
    ("DLCOURSE_SCALE", "tiny", "DLCOURSE_SCALE must be 'full' or 'short', got 'tiny'"),
])
def test_bad_environment_variable(var, value, words):
    # checked before the command's own work (here it would report the unknown exercise)
    _one_line(_course("contract", "atention", env_extra={var: value}), words)


def _broken_course(tmp_path):
    """A copy of the course whose attention notebook lost an END SOLUTION marker; returns
    the notebook's path and the message that names the broken cell."""
    shutil.copy(course.ROOT / "course.toml", tmp_path)
    shutil.copytree(course.SOLUTIONS, tmp_path / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / course.exercise("attention").source.relative_to(course.ROOT)
    nb = nbformat.read(path, as_version=4)
    i, cell = next((i, c) for i, c in enumerate(nb.cells) if C.is_solution(c))
    lines = cell.source.splitlines()
    begin = 1 + next(n for n, l in enumerate(lines) if l.strip() == C.BEGIN_SOLUTION)
    cell.source = "\n".join(l for l in lines if l.strip() != C.END_SOLUTION)
    nbformat.write(nb, path)
    return path, (f"cell {i} (grade_id {C.grade_id(cell)!r}): '### BEGIN SOLUTION' on line {begin} "
                  "has no '### END SOLUTION' after it")


def test_unpaired_solution_markers_name_the_cell(tmp_path):
    path, message = _broken_course(tmp_path)
    with pytest.raises(C.NotebookError) as e:
        C.read(path)
    assert str(e.value) == message
    with pytest.raises(C.NotebookError, match=r"^solution cell: '### END SOLUTION' on line 1 has no '### BEGIN"):
        C.solution_body("### END SOLUTION\nx = 1")
    with pytest.raises(C.NotebookError, match=r"on line 3, but the one on line 1 has no '### END SOLUTION' yet$"):
        C.solution_body("### BEGIN SOLUTION\nx = 1\n### BEGIN SOLUTION\n### END SOLUTION")
    assert C.solution_body("    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION") == "    x = 1"
    assert C.solution_body("x = 1") == "x = 1"


def test_unpaired_solution_markers_on_the_command_line(tmp_path):
    """``./course release attention`` on the broken copy (the course's folders pointed at it,
    so nothing of the repository is read or written)."""
    _, message = _broken_course(tmp_path)
    code = ("import sys\nfrom pathlib import Path\nfrom autograder import course\n"
            f"root = Path({str(tmp_path)!r})\n"
            "course.ROOT, course.SOLUTIONS, course.CHAPTERS, course.WORK = "
            "root, root / 'solutions', root / 'chapters', root / '_work'\n"
            "from autograder.__main__ import main\n"
            f"sys.exit(main(['release', 'attention', '--bundle', {str(tmp_path / 'bundle')!r}]))")
    proc = _course(code=code)
    _one_line(proc, message)
    assert not (tmp_path / "chapters").exists()
