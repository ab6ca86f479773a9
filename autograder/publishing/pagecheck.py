"""Execute one MyST explanation page outside the book and save its figures (authoring aid).

``./course python -m autograder.publishing.pagecheck chapters/ch1_transformers/rope.md OUTDIR``

Runs the page's code cells in a fresh kernel (as the site build does, full scale), fails
on the first error, prints each cell's time and writes every image output to OUTDIR as
PNG so it can be looked at. It does not touch _build/.
"""
from __future__ import annotations

import base64
import os
import sys
import time
from pathlib import Path

from myst_nb.core.read import read_myst_markdown_notebook
from nbclient import NotebookClient


def main(page: str, outdir: str) -> int:
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    text = Path(page).read_text()
    nb = read_myst_markdown_notebook(text)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    t0 = time.monotonic()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(Path(page).parent)}}).execute()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                print(f"cell {i} wrote to stderr: {o['text'][:300]}")
            png = o.get("data", {}).get("image/png")
            if png:
                n += 1
                (out / f"{Path(page).stem}_{i:02d}.png").write_bytes(base64.b64decode(png))
    words = len([w for c in nb.cells if c.cell_type == "markdown" for w in c.source.split()])
    print(f"{page}: ran in {time.monotonic() - t0:.1f} s, {n} figures in {out}, ~{words} words of text")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
