"""The repository's own rules: rooms that only use the rooms below them, every variable
the course reads listed in the README, no PYTHONPATH juggling, tests on public names."""
import ast
import re

import pytest

from autograder import course
from autograder.env import VARIABLES

# bottom first; notebook.cells (the cell roles, pure functions of nbgrader's metadata) is the
# vocabulary everything uses, the course model included
ROOMS = ["cells", "course", "env", "notebook", "judge", "grading", "publishing", "authoring", "benchmarks"]
PKG = course.ROOT / "autograder"


def _room(module: str) -> str | None:
    if module.startswith("autograder.notebook.cells"):
        return "cells"
    parts = module.split(".")
    return parts[1] if parts[0] == "autograder" and len(parts) > 1 else None


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("autograder"):
            for a in node.names:
                yield node.lineno, f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("autograder."):
                    yield node.lineno, a.name


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_rooms_use_only_rooms_below_them(path):
    rel = path.relative_to(PKG)
    if rel.parts[0] in ("__main__.py", "__init__.py"):
        return   # the command line may use every room
    here = _room("autograder." + ".".join(rel.with_suffix("").parts))
    for line, mod in _imports(path):
        there = _room(mod)
        if there in ROOMS and here in ROOMS:
            assert ROOMS.index(there) <= ROOMS.index(here), \
                f"{rel}:{line} imports {mod}: {here} may only use {ROOMS[:ROOMS.index(here) + 1]}"


def test_every_room_says_what_it_owns():
    for room in ROOMS[3:]:
        doc = ast.get_docstring(ast.parse((PKG / room / "__init__.py").read_text()))
        assert doc and len(doc) > 40, f"autograder/{room}/__init__.py: say in a docstring what the room owns"


def _code_files():
    for top in ("autograder", "dlcourse", "solutions", "tests", "_ext"):
        yield from (course.ROOT / top).rglob("*.py")


def test_every_course_variable_is_listed_and_documented():
    readme = (course.ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(DLCOURSE_\w+)` \| ([^|]+) \|", readme, re.M))
    for name, (default, _) in VARIABLES.items():
        assert name in rows, f"README: the table of variables has no row for {name}"
        assert rows[name].strip() == default, f"README: {name}'s default is {default!r} (autograder/env.py)"
    read = set()
    for f in _code_files():
        read |= set(re.findall(r"\b(DLCOURSE_[A-Z_]+)\b", f.read_text()))
    read |= set(re.findall(r"\b(DLCOURSE_[A-Z_]+)\b", (course.ROOT / "course").read_text()))
    assert not read - VARIABLES.keys(), f"variables read but not in autograder/env.py's list: {sorted(read - VARIABLES.keys())}"


def test_no_process_is_given_pythonpath():
    """The packages are installed in the clone's virtualenv. Two places set it on purpose:
    the sandbox (the kernel sees a read-only copy of dlcourse) and the site benchmark (it
    builds a copy of the repository with the copy's own packages)."""
    allowed = {PKG / "grading" / "sandbox.py", PKG / "benchmarks" / "site.py", PKG / "env.py"}
    for f in PKG.rglob("*.py"):
        if f not in allowed:
            assert "PYTHONPATH" not in f.read_text(), f"{f.relative_to(course.ROOT)} sets PYTHONPATH"


def test_tests_use_public_names_only():
    for f in (course.ROOT / "tests").glob("*.py"):
        tree = ast.parse(f.read_text())
        modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                   and (n.module or "").startswith("autograder") for a in n.names}
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("autograder"):
                private = [a.name for a in n.names if a.name.startswith("_")]
                assert not private, f"{f.name}:{n.lineno} imports private {private} from {n.module}"
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules \
                    and n.attr.startswith("_") and not n.attr.startswith("__"):
                pytest.fail(f"{f.name}:{n.lineno} uses the private {n.value.id}.{n.attr}")
