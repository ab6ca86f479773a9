"""Build the website: Jupyter Book 1, warnings as errors, explanation pages executed (cached)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from autograder import course
from autograder.env import child as child_env

MATHJAX = "3.2.2"
# The parts of MathJax's es5 build that the tex-mml-chtml component loads (no speech rules).
MATHJAX_PARTS = ["tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors"]


def ensure_mathjax() -> None:
    """Serve MathJax from the site's own copy (``_mathjax/mathjax``, published under
    ``_static/mathjax``) so the site works offline (the npm registry is
    one of the build machines' package sources; nothing is fetched when pages are read)."""
    import shutil
    import tarfile
    import tempfile

    dest = course.ROOT / "_mathjax" / "mathjax"  # not in _assets: Jupyter Book would load every .js there
    if (dest / "tex-mml-chtml.js").exists():
        return
    cache = course.cache_dir() / f"mathjax-{MATHJAX}.tgz"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["npm", "pack", f"mathjax@{MATHJAX}", "--pack-destination", tmp, "--silent"],
                           check=True, capture_output=True)
            shutil.move(os.path.join(tmp, f"mathjax-{MATHJAX}.tgz"), cache)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(cache) as tar:
        tar.extractall(tmp, filter="data")
        for part in MATHJAX_PARTS:
            src, out = os.path.join(tmp, "package", "es5", part), dest / part
            out.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if os.path.isdir(src) else shutil.copyfile)(src, out)


def build(extra_args=(), measure: bool = True, remeasure=None) -> int:
    """Measure the exercises' run times that are missing or stale (``remeasure``: names to
    measure again anyway, [] for all; see runtimes.py), draw the stale previews of the
    exercise pages (previews.py), then build the book."""
    if measure:
        from autograder.publishing import runtimes

        from autograder.publishing import previews

        t0 = time.monotonic()
        try:
            if runtimes.update(force=remeasure):
                print(f"site: run times measured in {time.monotonic() - t0:.0f} s (commit each exercise's runtime.json)")
            if drawn := previews.update():
                print(f"site: previews drawn for {', '.join(ex.name for ex in drawn)} (commit each exercise's preview/)")
        except (runtimes.MeasureError, previews.PreviewError) as err:
            print(f"site: {err}\nsite: not built")
            return 1
    ensure_mathjax()
    env = child_env("full", "auto", mpl="inline")   # pages are executed one at a time: every core
    # jupyter-book runs under this interpreter, so its kernels see the installed course packages
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(course.ROOT), "-W", "--keep-going", *extra_args]
    t0 = time.monotonic()
    rc = subprocess.call(cmd, cwd=course.ROOT, env=env)
    print(f"site: built in {time.monotonic() - t0:.1f} s -> {course.SITE / 'index.html'}" if rc == 0 else f"site: build failed (exit {rc})")
    return rc
