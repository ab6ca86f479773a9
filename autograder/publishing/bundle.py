"""The student bundle: what learners may see, as a repository of its own.

This repository is the instructor's (solutions, hidden tests, the term seed). The release
step also writes the *student bundle* (design.md, "Who sees what"): the site's sources,
the student notebooks, the helper library and its requirements, with no ``solutions/``,
no ``autograder/`` and no ``course.toml``. Published as its own public repository (the
``repository.url`` of ``_config.yml``), it is what the site's repository, Colab and
Binder buttons open, and what the first cell of every exercise notebook installs the
helper library from.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from autograder import course

# copied as they are (when present); chapters/ is copied whole (pages + student notebooks)
FILES = ["intro.md", "instructors.md", "bibliography.md", "glossary.md", "references.bib", "_toc.yml",
         "runtimes.json", "LICENSE"]
FOLDERS = ["chapters", "dlcourse", "_assets", "_ext"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


def book_config() -> dict:
    return yaml.safe_load((course.ROOT / "_config.yml").read_text())


def repository() -> tuple[str, str]:
    """(URL, branch) of the published student repository."""
    repo = book_config()["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def install_cell_source() -> str:
    url, branch = repository()
    return f'''\
# Set-up. Inside the course repository this cell does nothing. Anywhere
# else (Colab, Binder, a laptop) it installs the course's helper library,
# dlcourse, and nothing else: PyTorch must be there already (Colab has
# it; for a laptop see the course README).
import importlib, importlib.util, pathlib, subprocess, sys

if importlib.util.find_spec("dlcourse") is None:
    _cwd = pathlib.Path.cwd().resolve()
    _repo = [p for p in [_cwd, *_cwd.parents]
             if (p / "dlcourse" / "__init__.py").is_file()]
    if _repo:  # a clone of the course, started without its set-up
        sys.path.insert(0, str(_repo[0]))
    else:
        _url = "git+{url}@{branch}"
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        f"dlcourse @ {{_url}}"], check=True)
        importlib.invalidate_caches()'''


def install_cell():
    import nbformat

    cell = nbformat.v4.new_code_cell(install_cell_source())
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": "install", "locked": True, "schema_version": 3,
                                 "solution": False, "task": False}
    cell.metadata["tags"] = ["install"]
    return cell


def with_install_cell(nb):
    """The notebook with the install cell before its first code cell (replacing an old one)."""
    cells = [c for c in nb.cells if (c.get("metadata", {}).get("nbgrader", {}).get("grade_id")) != "install"]
    first = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    nb.cells = cells[:first] + [install_cell()] + cells[first:]
    return nb


README = """\
# {title}: student edition

The explanation pages and exercise notebooks of the course, without the instructor's
solutions. Read the course on its website; open an exercise with the Colab or Binder
button at the top of its page, or run it on your own machine:

```bash
python3 -m venv .venv && . .venv/bin/activate
pip install torch=={torch} --index-url https://download.pytorch.org/whl/cpu   # CPU build, ~200 MB
pip install -e .                      # the course's helper library, dlcourse
pip install jupyterlab && jupyter lab # open chapters/<chapter>/<exercise>.ipynb
```

No GPU is needed: every notebook runs on a laptop CPU in about a minute. To build the
website locally: `pip install -r requirements.txt && jupyter-book build .`

The exercises are graded by your instructor's copy of the course, which holds hidden
tests; the visible checks in each notebook tell you quickly whether you are on track.
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "dlcourse"
version = "0.1.0"
description = "Helper library for the {title} course notebooks"
requires-python = ">=3.10"
# torch is not listed on purpose: Colab has it, and on a laptop the CPU build should be
# installed first (see README); pip would otherwise pull a multi-GB CUDA build.
dependencies = ["numpy", "matplotlib", "scikit-learn", "tqdm"]

[tool.setuptools]
packages = ["dlcourse"]
"""


def _requirements(names: set[str]) -> list[str]:
    keep = []
    for line in (course.ROOT / "requirements.txt").read_text().splitlines():
        name = line.split("==")[0].strip().lower()
        if name in names:
            keep.append(line.strip())
    return keep


def write(dest: Path) -> Path:
    """Write the bundle into ``dest`` (emptied first: it must hold nothing else)."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in FILES:
        if (course.ROOT / f).exists():
            shutil.copyfile(course.ROOT / f, dest / f)
    for d in FOLDERS:
        shutil.copytree(course.ROOT / d, dest / d, ignore=IGNORE)
    cfg = book_config()
    sphinx = cfg.setdefault("sphinx", {}).setdefault("config", {})
    # the published site loads MathJax from its CDN; the local copy is the build machine's
    sphinx.pop("mathjax_path", None)
    sphinx["html_static_path"] = [p for p in sphinx.get("html_static_path", []) if p != "_mathjax"]
    (dest / "_config.yml").write_text("# Generated by the instructor repository's release step.\n"
                                      + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    title = cfg.get("title", "The course")
    torch = next(l.split("==")[1] for l in _requirements({"torch"}))
    (dest / "README.md").write_text(README.format(title=title, torch=torch))
    (dest / "pyproject.toml").write_text(PYPROJECT.format(title=title))
    libs = {"torch", "torchvision", "numpy", "scipy", "scikit-learn", "matplotlib", "tqdm"}
    site = {"jupyter-book", "sphinxcontrib-bibtex", "ipykernel"}
    (dest / "requirements.txt").write_text("\n".join(_requirements(libs | site) + ["-e ."]) + "\n")
    # Binder: the CPU build of torch (the default wheel is a multi-GB CUDA build)
    (dest / "binder").mkdir()
    (dest / "binder" / "requirements.txt").write_text(
        "--extra-index-url https://download.pytorch.org/whl/cpu\n" + "\n".join(_requirements(libs)) + "\n.\n")
    (dest / ".gitignore").write_text("_build/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n")
    return dest
