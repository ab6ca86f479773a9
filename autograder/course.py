"""The course model: where things live, the course configuration, and the exercise.

An exercise is one folder, ``solutions/<chapter>/<name>/``, and everything about it is in
that folder (docs/authoring.md, "Adding an exercise, end to end"):

====================  =====================================================================
``<name>.ipynb``      the source notebook: text, set-up, solution, visible-check and graded
                      cells (nbgrader metadata); the single source of the reference solution
``exercise.toml``     number, title, points per item and written answer, expected effort,
                      run-time budget
``hidden_tests.py``   one ``test_<item>(learner, ref, seed)`` per graded cell, run by the judge
``fixtures.py``       optional: scaffolding the hidden tests send into the learner's process
``mutants.py``        plausible wrong answers (must lose their item's points) and accepted
                      variants (must keep them)
``bench.py``          optional: the syllabus targets, measured with the reference at full size
``runtime.json``      the measured run time of the learner's notebook (written by the site build)
====================  =====================================================================

``Exercise`` loads each of these once (cached on the object) and every step takes it from
there; ``problems()`` says in plain words what is missing or inconsistent.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.util
import json
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTERS = ROOT / "chapters"
WORK = ROOT / "_work"          # scratch: nbgrader workspaces (kept out of the book's tree)
SITE = ROOT / "_build" / "html"


class CourseError(Exception):
    """Bad input or a malformed course file: the command line prints it as one line."""


class UnknownExercise(CourseError, KeyError):
    def __str__(self):
        return self.args[0]


def cache_dir() -> Path:
    """Per-machine cache shared by clones (virtualenv, MathJax)."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlcourse"


@functools.cache
def config() -> dict:
    """course.toml; ``DLCOURSE_GRADING`` (JSON) overrides [grading] keys, e.g. tighter
    limits in the tests: '{"cell_timeout_s": 20, "limits": {"wall_s": 90}}'."""
    cfg = tomllib.loads((ROOT / "course.toml").read_text())
    try:
        over = json.loads(os.environ.get("DLCOURSE_GRADING", "{}"))
    except json.JSONDecodeError as e:
        raise CourseError(f"DLCOURSE_GRADING is not JSON ({e})") from None
    grading = cfg.setdefault("grading", {})
    for key, value in over.items():
        if isinstance(value, dict):
            grading.setdefault(key, {}).update(value)
        else:
            grading[key] = value
    return cfg


def book_config() -> dict:
    """_config.yml, the book's configuration."""
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text())


def repository() -> tuple[str, str]:
    """(URL, branch) of the published student repository."""
    repo = book_config()["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def term_seed() -> int:
    return int(config()["grading"]["term_seed"])


def load_module(path: Path, name: str):
    """Import a file of an exercise folder (hidden tests, mutants) as a fresh module."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@dataclasses.dataclass(frozen=True)
class Meta:
    """``exercise.toml``."""
    number: str                  # "1.5": the heading is "# Exercise <number>: <title>"
    title: str
    effort_hours: float          # what a learner should expect to spend, shown on the page
    time_budget_s: float         # the learner's notebook must run within this (runtime.json)
    points: dict[str, float]     # item -> points of its graded cell; written answer -> its points

    @property
    def heading(self) -> str:
        return f"Exercise {self.number}: {self.title}"


@dataclasses.dataclass(frozen=True)
class Exercise:
    """``name`` is also the nbgrader assignment id and the notebook's file name, so it is
    unique across the course."""

    chapter: str
    name: str

    @property
    def folder(self) -> Path:
        return SOLUTIONS / self.chapter / self.name

    @property
    def source(self) -> Path:
        return self.folder / f"{self.name}.ipynb"

    @property
    def meta_file(self) -> Path:
        return self.folder / "exercise.toml"

    @property
    def hidden_tests_file(self) -> Path:
        return self.folder / "hidden_tests.py"

    @property
    def fixtures_file(self) -> Path:
        return self.folder / "fixtures.py"

    @property
    def mutants_file(self) -> Path:
        return self.folder / "mutants.py"

    @property
    def bench_file(self) -> Path:
        return self.folder / "bench.py"

    @property
    def runtime_file(self) -> Path:
        return self.folder / "runtime.json"

    @property
    def student(self) -> Path:
        return CHAPTERS / self.chapter / f"{self.name}.ipynb"

    @property
    def page(self) -> str:
        """The student notebook's page in the book (its _toc.yml entry)."""
        return f"chapters/{self.chapter}/{self.name}"

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    def __str__(self) -> str:
        return f"{self.chapter}/{self.name}"

    @functools.cached_property
    def meta(self) -> Meta:
        try:
            raw = tomllib.loads(self.meta_file.read_text())
        except FileNotFoundError:
            raise CourseError(f"{self}: no {self.meta_file.name} (number, title, effort, budget, points)") from None
        except tomllib.TOMLDecodeError as e:
            raise CourseError(f"{self.meta_file.relative_to(ROOT)}: {e}") from None
        fields = {f.name for f in dataclasses.fields(Meta)}
        if missing := sorted(fields - raw.keys()):
            raise CourseError(f"{self.meta_file.relative_to(ROOT)}: missing {', '.join(missing)}")
        if unknown := sorted(raw.keys() - fields):
            raise CourseError(f"{self.meta_file.relative_to(ROOT)}: unknown key(s) {', '.join(unknown)}")
        return Meta(**{k: raw[k] for k in fields})

    @functools.cached_property
    def nb(self):
        """The source notebook with the points of exercise.toml on its graded cells and written
        answers (``cells.graded_item``). Shared: deep-copy before changing it."""
        from autograder.notebook import cells as C

        try:
            nb = C.read(self.source)
        except FileNotFoundError:
            raise CourseError(f"{self}: no source notebook {self.source.name}") from None
        except C.NotebookError as e:
            raise CourseError(f"{self.source.relative_to(ROOT)}: {e}") from None
        except Exception as e:  # noqa: BLE001 - nbformat raises several kinds for a broken file
            raise CourseError(f"{self.source.relative_to(ROOT)}: not a readable notebook ({e})") from None
        for cell in nb.cells:
            item = C.graded_item(cell)
            if item is not None and item in self.meta.points:
                cell.metadata["nbgrader"]["points"] = float(self.meta.points[item])
        return nb

    def copy_nb(self):
        return copy.deepcopy(self.nb)

    @functools.cached_property
    def layout(self):
        from autograder.notebook import cells as C

        return C.layout(self.nb)

    @functools.cached_property
    def solutions(self) -> dict[str, str]:
        """{item: source of its solution cell, markers included}."""
        from autograder.notebook import cells as C

        return C.solution_sources(self.nb)

    @functools.cached_property
    def changes(self) -> tuple[list, list]:
        """(mutants, accepted variants) of mutants.py."""
        if not self.mutants_file.exists():
            return [], []
        mod = load_module(self.mutants_file, f"mutants_{self.name}")
        return list(getattr(mod, "MUTANTS", [])), list(getattr(mod, "VARIANTS", []))

    def reference(self) -> dict:
        """A fresh namespace with the set-up cells and the full reference solution run."""
        from autograder.notebook import cells as C

        ns: dict = {"__name__": f"reference_{self.name}"}
        for i, cell in enumerate(self.nb.cells):
            if C.is_setup(cell) or C.is_solution(cell):
                exec(compile(C.solution_body(cell.source), f"<{self.name} cell {i}>", "exec"), ns)
        return ns

    def runtime(self) -> dict | None:
        return json.loads(self.runtime_file.read_text()) if self.runtime_file.exists() else None

    def problems(self) -> list[str]:
        """What keeps this folder from being a complete exercise, in plain words."""
        from autograder.notebook import cells as C

        out = []
        for f in (self.source, self.meta_file, self.hidden_tests_file, self.mutants_file):
            if not f.exists():
                out.append(f"{self}: missing {f.name}")
        if out:
            return out
        try:
            meta, lay = self.meta, self.layout
        except CourseError as e:
            return [str(e)]
        graded = {C.graded_item(c) for c in self.nb.cells if C.is_graded(c)} - {None}
        if extra := sorted(meta.points.keys() - set(lay.items) - lay.written.keys()):
            out.append(f"{self.meta_file.name}: points for item(s) or written answer(s) the notebook does not "
                       f"have: {extra}")
        if unpriced := sorted(graded - meta.points.keys()):
            out.append(f"{self.meta_file.name}: no points for item(s) {unpriced}")
        if unpriced := sorted(lay.written.keys() - meta.points.keys() - {None}):
            out.append(f"{self.meta_file.name}: no points for written answer(s) {unpriced}")
        if misnamed := sorted(w for w in lay.written if w and not w.startswith("written_")):
            # the site tells written answers from code parts by this prefix (the bundle has no notebook metadata)
            out.append(f"{self.source.name}: name written answers written_<topic>, not {misnamed}")
        if nameless := [i for i, c in enumerate(self.nb.cells) if C.is_written(c) and not C.grade_id(c)]:
            out.append(f"{self.source.name}: written answer cell(s) {nameless} have no grade_id")
        heading = next((l[2:].strip() for c in self.nb.cells if c.cell_type == "markdown"
                        for l in c.source.splitlines() if l.startswith("# ")), None)
        if heading != meta.heading:
            out.append(f"{self.source.name}: the first heading is {heading!r}; {self.meta_file.name} says "
                       f"{meta.heading!r}")
        if self.page not in toc_files():
            out.append(f"_toc.yml: no entry '- file: {self.page}'")
        lo, hi = config()["contract"].get("points_per_hour", [4, 6])
        total = sum(meta.points.values())
        if meta.effort_hours and not lo <= total / meta.effort_hours <= hi:
            # a part that costs effort earns points in proportion, across the course
            out.append(f"{self.meta_file.name}: {total:g} points for {meta.effort_hours:g} hours of effort; "
                       f"course.toml asks for {lo:g} to {hi:g} points per hour")
        return out


@functools.cache
def exercises() -> tuple[Exercise, ...]:
    found = [
        Exercise(nb.parent.parent.name, nb.parent.name)
        for nb in sorted(SOLUTIONS.glob("*/*/*.ipynb"))
        if nb.stem == nb.parent.name
    ]
    names = [e.name for e in found]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise CourseError(f"exercise names must be unique across chapters: {sorted(dupes)}")
    return tuple(found)


def exercise(name: str) -> Exercise:
    for e in exercises():
        if e.name == name:
            return e
    known = ", ".join(e.name for e in exercises())
    raise UnknownExercise(f"no exercise named {name!r} (known: {known})")


def toc_files(root: Path = ROOT) -> list[str]:
    """The book's pages in _toc.yml order (root page first), without extensions."""
    import yaml

    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text())
    out = [toc["root"]]

    def walk(entries):
        for e in entries:
            if "file" in e:
                out.append(e["file"])
            walk(e.get("sections", []))
            walk(e.get("chapters", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return out
