"""Benchmark of the site build (``./course bench site``): cold, cached, and after touching a page.

In a temporary copy of the working tree (tracked files and untracked ones git does not
ignore; the virtualenv and the MathJax tarball in the per-machine cache are shared, so
nothing is fetched from the network), time

1. a cold build: no ``_build/``, so every explanation page is executed;
2. a cached rebuild with nothing changed;
3. a rebuild after touching one explanation page (a comment appended to its text: Sphinx
   re-reads it, jupyter-cache still has its outputs);
4. a rebuild after editing that page's code (a comment in its first code cell: the page is
   executed again).

The builds do not measure exercise run times (the runtime.json records are used as they are), so only
the book's own build is timed.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from autograder import course
from autograder.benchmarks.run import target
from autograder.publishing.site import MATHJAX

COLD_S, CACHED_S = 300, 60  # README's CI budget: 5 min cold, 1 min warm


def _files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=root, check=True, capture_output=True, text=True).stdout
    return [f for f in out.split("\0") if f and (root / f).is_file()]


def copy_tree(dest: Path) -> None:
    for rel in _files(course.ROOT):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course.ROOT / rel, dest / rel)


def page_to_touch(root: Path) -> Path:
    """The first explanation page of the table of contents that runs code."""
    files = course.toc_files(root)[1:]   # the root page is the landing page
    for f in files:
        page = root / f"{f}.md"
        if page.exists() and "{code-cell}" in page.read_text():
            return page
    raise RuntimeError("no explanation page with code in _toc.yml")


def build(root: Path, log: Path) -> tuple[float, str]:
    """One ``./course site`` build in the copy, without measuring run times; returns its
    seconds and what it did (pages executed by myst-nb, pages read by Sphinx)."""
    env = dict(os.environ, PYTHONPATH=str(root))   # the copy's packages, not the installed ones
    code = "import sys; from autograder.publishing.site import build; sys.exit(build(measure=False))"
    t0 = time.monotonic()
    with open(log, "w") as out:
        rc = subprocess.call([sys.executable, "-c", code], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.monotonic() - t0
    text = log.read_text()
    if rc != 0:
        print(text[-3000:])
        raise SystemExit(f"site build failed in the copy (exit {rc})")
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # Sphinx colours its log
    executed = text.count("Executed notebook in")
    read = len(set(re.findall(r"reading sources\.\.\. \[\s*\d+%\] (\S+)", text)))
    return seconds, f"{executed} page(s) executed, {read} read"


def main() -> int:
    if not (course.cache_dir() / f"mathjax-{MATHJAX}.tgz").exists():
        from autograder.publishing.site import ensure_mathjax

        ensure_mathjax()  # fetches the tarball once, into the per-machine cache
    from autograder.publishing import runtimes

    if runtimes.stale():
        print("note: some runtime.json records are not up to date; the copy builds with it as it is")
    with tempfile.TemporaryDirectory(prefix="dlcourse-site-bench-") as tmp:
        root, log = Path(tmp) / "course", Path(tmp) / "build.log"
        copy_tree(root)
        print(f"copy of the working tree in {root}", flush=True)
        cold, did = build(root, log)
        target("cold build (no _build: every explanation page executed)", f"{cold:.0f} s ({did})",
               f"<= {COLD_S} s", cold <= COLD_S)
        cached, did = build(root, log)
        target("cached rebuild, nothing changed", f"{cached:.0f} s ({did})", f"<= {CACHED_S} s", cached <= CACHED_S)
        page = page_to_touch(root)
        with open(page, "a") as f:
            f.write("\n<!-- touched by ./course bench site -->\n")
        touched, did = build(root, log)
        target(f"cached rebuild after touching one page ({page.relative_to(root)})", f"{touched:.0f} s ({did})",
               f"<= {CACHED_S} s", touched <= CACHED_S)
        text = page.read_text()  # an author's edit of code: a comment at the end of the first code cell
        start = text.index("```{code-cell}")
        end = text.index("\n```", start)
        page.write_text(text[:end] + "\n# edited by ./course bench site" + text[end:])
        edited, did = build(root, log)
        target(f"rebuild after editing one page's code ({page.relative_to(root)}: re-executed)", f"{edited:.0f} s ({did})",
               f"<= {CACHED_S} s", edited <= CACHED_S)
    return 0


if __name__ == "__main__":
    sys.exit(main())
