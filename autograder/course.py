"""Where things live in the repository, and the course configuration."""
from __future__ import annotations

import dataclasses
import functools
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CHAPTERS = ROOT / "chapters"
WORK = ROOT / "_work"          # scratch: nbgrader workspaces (kept out of the book's tree)
SITE = ROOT / "_build" / "html"


def cache_dir() -> Path:
    """Per-machine cache shared by clones (virtualenv, MathJax)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dlcourse"


@functools.cache
def config() -> dict:
    """course.toml; ``DLCOURSE_GRADING`` (JSON) overrides [grading] keys, e.g. tighter
    limits in the tests: '{"cell_timeout_s": 20, "limits": {"wall_s": 90}}'."""
    import json
    import os

    cfg = tomllib.loads((ROOT / "course.toml").read_text())
    over = json.loads(os.environ.get("DLCOURSE_GRADING", "{}"))
    grading = cfg.setdefault("grading", {})
    for key, value in over.items():
        if isinstance(value, dict):
            grading.setdefault(key, {}).update(value)
        else:
            grading[key] = value
    return cfg


def term_seed() -> int:
    return int(config()["grading"]["term_seed"])


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: ``solutions/<chapter>/<name>/<name>.ipynb`` (+ ``mutants.py``).

    ``name`` is also the nbgrader assignment id and the notebook's file name, so it is
    unique across the course.
    """

    chapter: str
    name: str

    @property
    def folder(self) -> Path:
        return SOLUTIONS / self.chapter / self.name

    @property
    def source(self) -> Path:
        return self.folder / f"{self.name}.ipynb"

    @property
    def mutants_file(self) -> Path:
        return self.folder / "mutants.py"

    @property
    def student(self) -> Path:
        return CHAPTERS / self.chapter / f"{self.name}.ipynb"

    @property
    def notebook(self) -> str:
        return f"{self.name}.ipynb"

    def __str__(self) -> str:
        return f"{self.chapter}/{self.name}"


def exercises() -> list[Exercise]:
    found = [
        Exercise(nb.parent.parent.name, nb.parent.name)
        for nb in sorted(SOLUTIONS.glob("*/*/*.ipynb"))
        if nb.stem == nb.parent.name
    ]
    names = [e.name for e in found]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"exercise names must be unique across chapters: {sorted(dupes)}")
    return found


def exercise(name: str) -> Exercise:
    for e in exercises():
        if e.name == name:
            return e
    known = ", ".join(e.name for e in exercises())
    raise UnknownExercise(f"no exercise named {name!r} (known: {known})")


class UnknownExercise(KeyError):
    def __str__(self):
        return self.args[0]


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
