"""Previews: the figures of the reference run that an exercise page shows.

An exercise page renders the student notebook unexecuted, so its "See it" cells show code
and no picture. A code cell tagged ``preview`` in the source notebook says that its figure
gives nothing away (it shows an experiment, not an answer); the site then shows that
figure, drawn by the notebook with the reference solution filled in at full size (the run
that ``runtimes.py`` times), under the cell. The cell also carries the figure's alt text and
caption, as myst-nb reads them on explanation pages::

    "metadata": {"tags": ["preview"],
                 "mystnb": {"image": {"alt": "..."}, "figure": {"caption": "..."}}}

The figures live in the exercise folder, ``preview/<name>-<cell>-<n>.png`` with
``preview/preview.json`` (alt, caption, cell index and source, and a key), committed like
``runtime.json``. They are drawn again when the key changes: the timed notebook's code
(``runtimes.key``) or a tagged cell's text. ``./course site`` keeps them up to date; the
site's extension (``_ext/course_exercises.py``) puts each after its cell.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil

from autograder import course

TAG = "preview"


class PreviewError(RuntimeError):
    pass


def tagged(ex: course.Exercise, nb=None) -> list[tuple[int, dict]]:
    """(index, cell) of the timed notebook's cells tagged ``preview``; each must have alt
    text and a caption."""
    from autograder.publishing import runtimes

    nb = nb if nb is not None else runtimes.timed_notebook(ex)
    out = []
    for i, cell in enumerate(nb.cells):
        if TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        opts = cell.metadata.get("mystnb", {})
        alt, caption = opts.get("image", {}).get("alt"), opts.get("figure", {}).get("caption")
        if cell.cell_type != "code" or not alt or not caption:
            raise PreviewError(f"{ex}: cell {i} is tagged '{TAG}' but is not a code cell with mystnb.image.alt "
                               f"and mystnb.figure.caption in its metadata")
        out.append((i, cell))
    return out


def key(ex: course.Exercise) -> str:
    from autograder.publishing import runtimes

    h = hashlib.sha256(runtimes.key(ex).encode())
    for i, cell in tagged(ex):
        h.update(json.dumps([i, cell.source, cell.metadata["mystnb"]], sort_keys=True).encode())
    return h.hexdigest()[:16]


def folder(ex: course.Exercise):
    return ex.folder / "preview"


def record(ex: course.Exercise) -> dict | None:
    f = folder(ex) / "preview.json"
    return json.loads(f.read_text()) if f.exists() else None


def stale() -> list[course.Exercise]:
    """Exercises with tagged cells whose figures are missing or out of date, and those
    with figures left from cells no longer tagged."""
    out = []
    for ex in course.exercises():
        rec = record(ex)
        if tagged(ex) and (rec or {}).get("key") != key(ex):
            out.append(ex)
        elif not tagged(ex) and folder(ex).exists():
            out.append(ex)
    return out


def save(ex: course.Exercise, executed) -> dict | None:
    """Keep the figures of the tagged cells of ``executed`` (the timed notebook, run)."""
    cells = tagged(ex, executed)
    shutil.rmtree(folder(ex), ignore_errors=True)
    if not cells:
        return None
    folder(ex).mkdir(parents=True)
    figures = []
    for i, cell in cells:
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not pngs:
            raise PreviewError(f"{ex}: cell {i} is tagged '{TAG}' but drew no figure in the reference run")
        for n, png in enumerate(pngs, 1):
            name = f"{ex.name}-{i:02d}-{n}.png"
            (folder(ex) / name).write_bytes(base64.b64decode(png))
            figures.append({"file": name, "cell": i, "source": cell.source,
                            "alt": cell.metadata["mystnb"]["image"]["alt"],
                            "caption": cell.metadata["mystnb"]["figure"]["caption"]})
    rec = {"key": key(ex), "figures": figures}
    (folder(ex) / "preview.json").write_text(json.dumps(rec, indent=2) + "\n")
    return rec


def update() -> list[course.Exercise]:
    """Draw the stale previews (the notebook runs once per exercise, as it is timed)."""
    from autograder.publishing import runtimes

    todo = stale()
    for ex in todo:
        if not tagged(ex):
            shutil.rmtree(folder(ex))
            continue
        print(f"previews: running {ex} (solution filled in, full size) for its figures ...", flush=True)
        try:
            save(ex, runtimes.run(ex)[1])
        except PreviewError:
            raise
        except Exception as err:  # a broken solution notebook
            raise PreviewError(f"{ex}: the solved notebook failed while drawing its previews: "
                               f"{type(err).__name__}: {str(err).strip()[-2000:]}") from None
    return todo
