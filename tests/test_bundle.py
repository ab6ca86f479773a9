"""The student bundle, the launch buttons and the install cell: what learners open and run."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from autograder import course
from autograder.notebook import cells as C
from autograder.notebook import transforms
from autograder.publishing import bundle
from autograder.publishing import leaks


@pytest.fixture(scope="module")
def student_repo(tmp_path_factory):
    return bundle.write(tmp_path_factory.mktemp("bundle") / "course")


def test_bundle_holds_what_learners_need_and_nothing_else(student_repo):
    names = {p.name for p in student_repo.iterdir()}
    assert not names & {"solutions", "autograder", "course.toml", "tests", "course", ".ci"}, names
    toc = yaml.safe_load((student_repo / "_toc.yml").read_text())
    assert (student_repo / f"{toc['root']}.md").exists()
    for ex in course.exercises():
        rel = ex.student.relative_to(course.ROOT)
        assert (student_repo / rel).read_bytes() == ex.student.read_bytes(), f"{rel} differs from the release"
    cfg = yaml.safe_load((student_repo / "_config.yml").read_text())
    assert "mathjax_path" not in cfg["sphinx"]["config"], "the published site takes MathJax from its CDN"
    assert "torch" not in (student_repo / "pyproject.toml").read_text().split("dependencies")[1].split("\n")[0]
    # what the pages say of each exercise travels without solutions/: run time, effort, points
    facts = json.loads((student_repo / "exercises.json").read_text())
    for ex in course.exercises():
        f = facts[ex.name]
        assert f["runtime"] == ex.runtime() and f["effort_hours"] == ex.meta.effort_hours
        assert sum(f["points"].values()) == ex.layout.total and set(f["written"]) == set(ex.layout.written)


def test_bundle_leaks_no_solution_and_no_hidden_test(student_repo):
    secrets = set()
    for ex in course.exercises():
        secrets |= leaks.exercise_secrets(ex)
    # a generic line that the public helper library or a student notebook shows is no secret
    # (the student notebooks themselves are checked by the exercise contract)
    public = "\n".join([f.read_text() for f in (course.ROOT / "dlcourse").glob("*.py")]
                       + [ex.student.read_text() for ex in course.exercises()])
    secrets -= set(leaks.found(public, secrets))
    for f in student_repo.rglob("*"):
        if f.is_file() and f.suffix in {".ipynb", ".md", ".py", ".yml", ".txt", ".toml", ".json", ".bib"}:
            hits = leaks.found(f.read_text(errors="ignore"), secrets)
            assert not hits, f"{f.relative_to(student_repo)} shows hidden lines: {hits[:3]}"
    for f in student_repo.rglob("*"):
        if f.is_file() and f.suffix in {".ipynb", ".md", ".py", ".yml", ".txt", ".toml", ".json"}:
            text = f.read_text(errors="ignore")
            for marker in (C.BEGIN_SOLUTION, C.END_SOLUTION):
                assert marker not in text, f"{f.relative_to(student_repo)} shows the marker {marker!r}"
    seed = str(course.term_seed())
    for f in student_repo.rglob("*.ipynb"):
        assert seed not in f.read_text(), f"{f.name} holds the term seed"


def test_helper_library_installs_from_the_bundle(student_repo, tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(tmp_path / "site"), str(student_repo)], check=True)
    out = subprocess.run([sys.executable, "-c", "import dlcourse, dlcourse.testing; print(dlcourse.__file__)"],
                         env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith(str(tmp_path / "site"))


def _run_install_cell(cwd, env_extra=None):
    """Run the notebooks' install cell in a Python that has no course package (``-S``: no
    site-packages, as a learner's fresh Python), with pip replaced by a recorder."""
    code = ("import subprocess\ncalls = []\nsubprocess.run = lambda args, **k: calls.append(args)\n"
            + transforms.install_cell_source()
            + "\nimport sys\nprint(repr(calls)); print(repr(sys.path[0]))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-S", "-c", code], cwd=cwd, env={**env, **(env_extra or {})},
                          capture_output=True, text=True, check=True).stdout.splitlines()


def test_install_cell_is_first_and_does_nothing_inside_the_repo():
    for ex in course.exercises():
        nb = C.read(ex.student)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert first.source == transforms.install_cell_source(), f"{ex}: the first code cell is not the install cell"
        assert C.meta(first).get("locked"), f"{ex}: the install cell must be read-only"
    chapter = course.exercises()[0].student.parent
    calls, path0 = _run_install_cell(chapter)
    assert calls == "[]", "inside a clone the install cell must not call pip"
    assert path0 == repr(str(course.ROOT)), "inside a clone it uses the clone's dlcourse"


def test_install_cell_installs_only_the_helper_library_elsewhere(tmp_path):
    calls, _ = _run_install_cell(tmp_path)
    url, branch = course.repository()
    assert f"dlcourse @ git+{url}@{branch}" in calls and "torch" not in calls, calls
