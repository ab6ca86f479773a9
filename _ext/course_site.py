"""Sphinx additions for the course site (loaded through _config.yml's local_extensions).

* small fixes to the theme's pages (duplicate scripts, theme mode);
* honest run times from each exercise folder's ``runtime.json`` (written by ``./course
  site``, see autograder/publishing/runtimes.py): a note under the title of every exercise page, and the
  ``{exercise-runtimes}`` directive, a table of every exercise in the book with its time
  (used on the landing page).

An exercise page is a notebook under ``chapters/``: ``chapters/<chapter>/<name>.ipynb``,
whose run-time record is ``solutions/<chapter>/<name>/runtime.json``.
"""
import datetime
import glob
import json
import math
import os
import tomllib

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    # sphinx-thebe (bundled by Jupyter Book 1) registers its inline config script twice,
    # which throws "Identifier 'THEBE_JS_URL' has already been declared" in every page.
    seen, kept = set(), []
    for js in context.get("script_files", []):
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def _theme_mode(app, pagename, templatename, context, doctree):
    # pydata-sphinx-theme reads default_mode from the page context; left empty, it logs
    # "Got invalid theme mode" as an error on a first visit
    context["default_mode"] = context.get("default_mode") or "light"


# ---- run times ------------------------------------------------------------------------

def about(seconds: float) -> str:
    """A measured time as a reader wants it: nearest 5 s under a minute, nearest half
    minute above."""
    s = 5 * math.floor(seconds / 5 + 0.5)  # half up, not Python's round-half-even
    if s < 5:
        return "under 5 s"
    if s < 60:
        return f"{s} s"
    halves = math.floor(seconds / 30 + 0.5)
    minutes, half = divmod(halves, 2)
    return f"{minutes} min" + (" 30 s" if half else "")


def _facts(app) -> dict:
    """{exercise name: {"runtime": record or None, "effort_hours", "points": {part: points},
    "written": {part: points}}} from each exercise folder (runtime.json, exercise.toml) in
    the instructor's repository, or the student bundle's merged exercises.json."""
    merged = os.path.join(app.srcdir, "exercises.json")
    if os.path.exists(merged):
        with open(merged) as f:
            return json.load(f)
    out = {}
    for toml in sorted(glob.glob(os.path.join(app.srcdir, "solutions", "*", "*", "exercise.toml"))):
        folder = os.path.dirname(toml)
        with open(toml, "rb") as f:
            meta = tomllib.load(f)
        record = os.path.join(folder, "runtime.json")
        runtime = None
        if os.path.exists(record):
            with open(record) as f:
                runtime = json.load(f)
        points = meta.get("points", {})
        out[os.path.basename(folder)] = {
            "runtime": runtime, "effort_hours": meta.get("effort_hours"),
            "points": {k: v for k, v in points.items() if not k.startswith("written_")},
            "written": {k: v for k, v in points.items() if k.startswith("written_")}}
    return out


def _runtimes(app) -> dict:
    return {name: f["runtime"] for name, f in _facts(app).items() if f.get("runtime")}


def _is_exercise(env, docname) -> bool:
    return docname.startswith("chapters/") and str(env.doc2path(docname)).endswith(".ipynb")


def _exercise_docs(env) -> list:
    """Exercise pages in the book, in table-of-contents order."""
    order, seen = [], set()

    def walk(doc):
        if doc in seen:
            return
        seen.add(doc)
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    order += sorted(d for d in env.found_docs if d not in seen)
    return [d for d in order if d in env.found_docs and _is_exercise(env, d)]


def _entry(app, docname):
    return _runtimes(app).get(docname.rsplit("/", 1)[-1])


def _date(iso: str) -> str:
    d = datetime.date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


def _machine(entry) -> str:
    return f"{entry['cpus']}-core CPU"


def _note_text(entry) -> str:
    n = entry["torch_threads"]
    return (f"on a {_machine(entry)} ({entry['cpu_model']}, {n} torch thread{'s' if n != 1 else ''}): this notebook "
            f"with the solution filled in, top to bottom at full size, timed by the site's build on {_date(entry['date'])}.")


def _hours(h) -> str:
    return f"{h:g} hour" + ("" if h == 1 else "s")


def _effort_text(facts) -> str:
    """Expected effort and how the points are split, for the note on an exercise page."""
    parts = ", ".join(f"{name.replace('_', ' ')} {p:g}" for name, p in facts["points"].items())
    text = f"{sum(facts['points'].values()):g} points graded automatically ({parts})"
    if facts.get("written"):
        text += f" and {sum(facts['written'].values()):g} for written answers, graded by hand"
    return f"about {_hours(facts['effort_hours'])} of work; " + text + "."


def _add_runtime_note(app, doctree):
    """doctree-read: a note under an exercise page's title: run time, effort, points."""
    docname = app.env.docname
    if not _is_exercise(app.env, docname):
        return
    facts = _facts(app).get(docname.rsplit("/", 1)[-1])
    section = doctree.next_node(nodes.section)
    if facts is None or section is None:
        return
    paras = []
    entry = facts.get("runtime")
    if entry:
        paras.append(nodes.paragraph("", "", nodes.strong("", f"Runs in about {about(entry['seconds'])}"),
                                     nodes.Text(" " + _note_text(entry))))
    if facts.get("effort_hours"):
        paras.append(nodes.paragraph("", "", nodes.strong("", "Expected effort: "), nodes.Text(_effort_text(facts))))
    if not paras:
        return
    note = nodes.admonition("", nodes.title("", "Run time and effort"), *paras, classes=["note", "course-runtime"])
    index = section.first_child_matching_class(nodes.title)
    section.insert(0 if index is None else index + 1, note)


class runtime_table(nodes.General, nodes.Element):
    """Placeholder for {exercise-runtimes}, filled in once every page's title is known."""


class ExerciseRuntimes(SphinxDirective):
    has_content = False

    def run(self):
        if not hasattr(self.env, "course_runtime_tables"):
            self.env.course_runtime_tables = set()
        self.env.course_runtime_tables.add(self.env.docname)
        return [runtime_table("")]


def _title(env, docname) -> str:
    node = env.titles.get(docname)
    return node.astext() if node is not None else docname


def _fill_runtime_tables(app, doctree, fromdocname):
    """doctree-resolved: build the run-time table(s) of this page."""
    placeholders = list(doctree.findall(runtime_table))
    if not placeholders:
        return
    env, data = app.env, _runtimes(app)

    def link(text, docname):
        ref = nodes.reference("", "", internal=True, refuri=app.builder.get_relative_uri(fromdocname, docname))
        ref += nodes.Text(text)
        para = nodes.paragraph()
        para += ref
        return para

    def cell(*children):
        entry = nodes.entry()
        entry.extend(children)
        return entry

    rows, machines, previous = [], {}, None
    for doc in _exercise_docs(env):
        chapter = doc.rsplit("/", 1)[0]
        index = chapter + "/index"
        if chapter == previous:
            chapter_cell = cell()
        elif index in env.found_docs:
            name = _title(env, index)
            if name.startswith("Chapter ") and ": " in name:  # "Chapter 1: Transformers" -> "1. Transformers"
                number, rest = name[len("Chapter "):].split(": ", 1)
                name = f"{number}. {rest}"
            chapter_cell = cell(link(name, index))
        else:
            chapter_cell = cell(nodes.paragraph(text=chapter.split("/")[-1]))
        previous = chapter
        title = _title(env, doc)
        if title.startswith("Exercise ") and ": " in title:
            number, what = title[len("Exercise "):].split(": ", 1)
            title = f"{number} {what}"
        entry = data.get(doc.rsplit("/", 1)[-1])
        if entry:
            machines.setdefault((_machine(entry), entry["cpu_model"]), []).append(entry["date"])
        row = nodes.row()
        row += chapter_cell
        row += cell(link(title, doc))
        row += cell(nodes.paragraph(text=about(entry["seconds"]) if entry else "not measured yet"))
        effort = (_facts(app).get(doc.rsplit("/", 1)[-1]) or {}).get("effort_hours")
        row += cell(nodes.paragraph(text=f"about {_hours(effort)}" if effort else ""))
        rows.append(row)

    for node in placeholders:
        table = nodes.table(classes=["course-runtimes"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (25, 45, 15, 15):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head_row = nodes.row()
        for text in ("Chapter", "Exercise", "Runs in about", "Effort"):
            head_row += cell(nodes.paragraph(text=text))
        head += head_row
        group += head
        body = nodes.tbody()
        body.extend(r.deepcopy() for r in rows)
        group += body
        where = "; ".join(
            f"a {m} ({model}) " + (f"on {_date(min(dates))}" if min(dates) == max(dates)
                                     else f"between {_date(min(dates))} and {_date(max(dates))}")
            for (m, model), dates in sorted(machines.items()))
        caption = nodes.paragraph(
            text="Each time is one run of the exercise notebook with the solution filled in, top to bottom at "
                 "full size, timed by the site's build whenever the notebook's code changes"
                 + (f": on {where}." if where else ".")
                 + " Your own code may run slower or faster.",
            classes=["course-runtimes-note"])
        node.replace_self([table, caption])


def _outdated(app, env, added, changed, removed):
    """env-get-outdated: re-read the pages whose run-time text changed (the runtime.json
    records are not Sphinx sources, so Sphinx would not notice), and the table pages whenever any
    exercise page changes."""
    facts = _facts(app)
    shown = {}
    for doc in env.found_docs:
        if _is_exercise(env, doc):
            f = facts.get(doc.rsplit("/", 1)[-1]) or {}
            entry = f.get("runtime")
            shown[doc] = ((about(entry["seconds"]), _note_text(entry)) if entry else None,
                          _effort_text(f) if f.get("effort_hours") else None)
    before = getattr(env, "course_runtimes_shown", {})
    env.course_runtimes_shown = shown
    redo = [doc for doc in shown if doc in before and shown[doc] != before[doc]]
    exercise_touched = redo or set(shown) != set(before) or any(d in shown for d in (*added, *changed))
    if exercise_touched:
        redo += [d for d in getattr(env, "course_runtime_tables", ()) if d in env.found_docs]
    return redo


def _purge(app, env, docname):
    getattr(env, "course_runtime_tables", set()).discard(docname)


def _merge(app, env, docnames, other):
    if not hasattr(env, "course_runtime_tables"):
        env.course_runtime_tables = set()
    env.course_runtime_tables |= getattr(other, "course_runtime_tables", set()) & set(docnames)


def setup(app):
    app.connect("html-page-context", _theme_mode)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.add_node(runtime_table)
    app.add_directive("exercise-runtimes", ExerciseRuntimes)
    app.connect("doctree-read", _add_runtime_note)
    app.connect("doctree-resolved", _fill_runtime_tables)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

