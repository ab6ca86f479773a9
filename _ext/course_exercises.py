"""What the site says about the exercises, read from the exercise folders (loaded by
course_site.py).

* under the title of every exercise page: its run time (``runtime.json``, written by
  ``./course site``, see autograder/publishing/runtimes.py), the expected effort and the
  points per part (``exercise.toml``), and how to hand it in;
* after each "See it" cell tagged ``preview``: the figure of the reference run
  (``preview/`` of the exercise folder, autograder/publishing/previews.py), with its alt
  text and caption;
* ``{exercise-runtimes}``: a table of every exercise in the book with its time and effort;
* ``{course-chapters}``: the chapter table of the landing page; every ready exercise is
  linked from its chapter's row, chapters without pages are marked as being written.

An exercise page is a notebook under ``chapters/``: ``chapters/<chapter>/<name>.ipynb``,
whose folder is ``solutions/<chapter>/<name>/``. The student bundle has no
``solutions/``: there the same facts come from its ``exercises.json`` (written by
autograder/publishing/bundle.py) and the previews from its ``previews/`` folder.
"""
import datetime
import glob
import json
import math
import os
import re
import tomllib

import yaml
from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

log = logging.getLogger(__name__)


# ---- the facts ------------------------------------------------------------------------

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


def folder_facts(folder: str, srcdir: str) -> dict:
    """One exercise folder's facts as the pages use them (also what the bundle's
    exercises.json holds for each exercise)."""
    with open(os.path.join(folder, "exercise.toml"), "rb") as f:
        meta = tomllib.load(f)
    runtime = None
    if os.path.exists(os.path.join(folder, "runtime.json")):
        with open(os.path.join(folder, "runtime.json")) as f:
            runtime = json.load(f)
    previews = []
    if os.path.exists(os.path.join(folder, "preview", "preview.json")):
        with open(os.path.join(folder, "preview", "preview.json")) as f:
            for fig in json.load(f)["figures"]:
                path = os.path.join(folder, "preview", fig["file"])
                previews.append({**fig, "src": os.path.relpath(path, srcdir).replace(os.sep, "/")})
    points = meta.get("points", {})
    return {"number": str(meta.get("number", "")), "title": meta.get("title", ""),
            "runtime": runtime, "effort_hours": meta.get("effort_hours"),
            "points": {k: v for k, v in points.items() if not k.startswith("written_")},
            "written": {k: v for k, v in points.items() if k.startswith("written_")},
            "previews": previews}


def facts(app) -> dict:
    """{exercise name: facts} from each exercise folder in the instructor's repository, or
    the student bundle's exercises.json. Read once per build."""
    cached = getattr(app, "_course_facts", None)
    if cached is not None:
        return cached
    merged = os.path.join(app.srcdir, "exercises.json")
    if os.path.exists(merged):
        with open(merged) as f:
            out = json.load(f)
    else:
        out = {os.path.basename(os.path.dirname(t)): folder_facts(os.path.dirname(t), app.srcdir)
               for t in sorted(glob.glob(os.path.join(app.srcdir, "solutions", "*", "*", "exercise.toml")))}
    app._course_facts = out
    return out


def number_key(number: str):
    """"1.10" after "1.9"."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.]", number))


def is_exercise(env, docname) -> bool:
    return docname.startswith("chapters/") and str(env.doc2path(docname)).endswith(".ipynb")


def exercise_docs(env) -> list:
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
    return [d for d in order if d in env.found_docs and is_exercise(env, d)]


def _name(docname: str) -> str:
    return docname.rsplit("/", 1)[-1]


def _date(iso: str) -> str:
    d = datetime.date.fromisoformat(iso)
    return f"{d.day} {d:%B %Y}"


def _machine(entry) -> str:
    return f"{entry['cpus']}-core CPU"


def note_text(entry) -> str:
    n = entry["torch_threads"]
    return (f"on a {_machine(entry)} ({entry['cpu_model']}, {n} torch thread{'s' if n != 1 else ''}): this notebook "
            f"with the solution filled in, top to bottom at full size, timed by the site's build on {_date(entry['date'])}.")


def _hours(h) -> str:
    return f"{h:g} hour" + ("" if h == 1 else "s")


def effort_text(f) -> str:
    """Expected effort and how the points are split, for the note on an exercise page."""
    parts = ", ".join(f"{name.replace('_', ' ')} {p:g}" for name, p in f["points"].items())
    text = f"{sum(f['points'].values()):g} points graded automatically ({parts})"
    if f.get("written"):
        text += f" and {sum(f['written'].values()):g} for written answers, graded by hand"
    return f"about {_hours(f['effort_hours'])} of work; " + text + "."


def _shown(f: dict) -> tuple:
    """What an exercise page shows of its facts: when it changes, the page is read again."""
    entry = f.get("runtime")
    return ((about(entry["seconds"]), note_text(entry)) if entry else None,
            effort_text(f) if f.get("effort_hours") else None,
            json.dumps(f.get("previews", []), sort_keys=True))


def _para(*children):
    return nodes.paragraph("", "", *children)


def _literal(text):
    return nodes.literal(text, text)


# ---- the note under an exercise page's title ---------------------------------------------

def _submit_paragraphs(app, docname: str, previews: bool) -> list:
    root = app.env.config.root_doc
    start = nodes.reference("", "", nodes.Text("Start here"), internal=True,
                            refuri=os.path.relpath(root, os.path.dirname(docname) or ".") + ".html#start-here")
    own = ("the visible checks under each part, "
           + ("the reference run's figures under the \u201cSee it\u201d cells, " if previews else "")
           + "and the questions at the end of the chapter's pages (see ")
    return [
        _para(nodes.strong("", "Handing it in: "),
              nodes.Text("write your code in the cells marked "), _literal("# YOUR CODE HERE"),
              nodes.Text(", keep the file name "), _literal(f"{_name(docname)}.ipynb"),
              nodes.Text(", run it top to bottom (Restart & Run All) and upload it where your instructor asks. "
                         "The course's grader runs hidden tests on it and returns each part's points with "
                         "what went wrong.")),
        _para(nodes.strong("", "On your own: "), nodes.Text(own), start, nodes.Text(").")),
    ]


def add_exercise_note(app, doctree):
    """doctree-read: the note under an exercise page's title (run time, effort, points,
    handing in) and the reference run's figures after their cells."""
    docname = app.env.docname
    if not is_exercise(app.env, docname):
        return
    f = facts(app).get(_name(docname))
    section = doctree.next_node(nodes.section)
    if f is None or section is None:
        return
    paras = []
    entry = f.get("runtime")
    if entry:
        paras.append(_para(nodes.strong("", f"Runs in about {about(entry['seconds'])}"), nodes.Text(" " + note_text(entry))))
    if f.get("effort_hours"):
        paras.append(_para(nodes.strong("", "Expected effort: "), nodes.Text(effort_text(f))))
    paras += _submit_paragraphs(app, docname, bool(f.get("previews")))
    note = nodes.admonition("", nodes.title("", "Run time, effort and handing in"), *paras, classes=["note", "course-runtime"])
    index = section.first_child_matching_class(nodes.title)
    section.insert(0 if index is None else index + 1, note)
    _add_previews(app, doctree, f.get("previews", []), docname)


def _add_previews(app, doctree, previews, docname):
    """Each preview figure after the code cell that draws it (found by its index in the
    notebook, checked against its source)."""
    if not previews:
        return
    cells = {c.get("cell_index"): c for c in doctree.findall(nodes.container) if c.get("nb_element") == "cell_code"}
    for fig in previews:
        cell = cells.get(fig["cell"])
        code = cell.next_node(nodes.literal_block) if cell is not None else None
        if code is None or code.astext().strip() != fig["source"].strip():
            log.warning(f"{docname}: preview {fig['file']} belongs to no cell of this page (cell {fig['cell']}): "
                        f"run ./course site to draw the previews again", location=docname)
            continue
        image = nodes.image(uri="/" + fig["src"], alt=fig["alt"])
        caption = nodes.caption("", "", nodes.strong("", "The reference solution's run: "), nodes.Text(fig["caption"]))
        figure = nodes.figure("", image, caption, classes=["course-preview"], ids=[nodes.make_id("preview " + fig["file"])])
        wrapper = nodes.container("", figure, classes=["course-preview"])
        cell.parent.insert(cell.parent.index(cell) + 1, wrapper)


# ---- the run-time table ----------------------------------------------------------------

class runtime_table(nodes.General, nodes.Element):
    """Placeholder for {exercise-runtimes}, filled in once every page's title is known."""


class chapter_table(nodes.General, nodes.Element):
    """Placeholder for {course-chapters}: the rows given in the directive."""


def _note_table_page(env):
    if not hasattr(env, "course_runtime_tables"):
        env.course_runtime_tables = set()
    env.course_runtime_tables.add(env.docname)


class ExerciseRuntimes(SphinxDirective):
    has_content = False

    def run(self):
        _note_table_page(self.env)
        return [runtime_table("")]


class CourseChapters(SphinxDirective):
    """A YAML list of chapters: ``number``, ``title``, ``topics`` and ``planned`` (the
    exercises the syllabus promises, shown until the chapter has that many ready)."""
    has_content = True

    def run(self):
        _note_table_page(self.env)
        try:
            rows = yaml.safe_load("\n".join(self.content))
        except yaml.YAMLError as err:
            raise self.error(f"course-chapters: not YAML ({err})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) and {"number", "title", "topics"} <= set(r) for r in rows):
            raise self.error("course-chapters: a YAML list of {number, title, topics, planned}")
        return [chapter_table("", rows=rows)]


def _title(env, docname) -> str:
    node = env.titles.get(docname)
    return node.astext() if node is not None else docname


def _short_title(title: str, word: str) -> str:
    """"Exercise 1.1: Attention" -> "1.1 Attention"; "Chapter 1: Transformers" -> "1. Transformers"."""
    if title.startswith(word + " ") and ": " in title:
        number, rest = title[len(word) + 1:].split(": ", 1)
        return f"{number}. {rest}" if word == "Chapter" else f"{number} {rest}"
    return title


def _table(widths, head, rows, classes):
    def cell(*children):
        entry = nodes.entry()
        entry.extend(children)
        return entry

    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(widths))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    thead, head_row = nodes.thead(), nodes.row()
    for text in head:
        head_row += cell(_para(nodes.Text(text)))
    thead += head_row
    group += thead
    body = nodes.tbody()
    for r in rows:
        row = nodes.row()
        for children in r:
            row += cell(*children)
        body += row
    group += body
    return table


def fill_tables(app, doctree, fromdocname):
    """doctree-resolved: the run-time and chapter tables of this page."""
    env = app.env

    def link(text, docname):
        ref = nodes.reference("", "", internal=True, refuri=app.builder.get_relative_uri(fromdocname, docname))
        ref += nodes.Text(text)
        return ref

    for node in list(doctree.findall(runtime_table)):
        node.replace_self(_runtime_table(app, env, link))
    for node in list(doctree.findall(chapter_table)):
        node.replace_self(_chapter_table(app, env, link, node["rows"]))


def _runtime_table(app, env, link):
    data, rows, machines, previous = facts(app), [], {}, None
    for doc in exercise_docs(env):
        chapter = doc.rsplit("/", 1)[0]
        index = chapter + "/index"
        if chapter == previous:
            chapter_cell = []
        elif index in env.found_docs:
            chapter_cell = [_para(link(_short_title(_title(env, index), "Chapter"), index))]
        else:
            chapter_cell = [_para(nodes.Text(chapter.split("/")[-1]))]
        previous = chapter
        f = data.get(_name(doc)) or {}
        entry = f.get("runtime")
        if entry:
            machines.setdefault((_machine(entry), entry["cpu_model"]), []).append(entry["date"])
        effort = f.get("effort_hours")
        rows.append([chapter_cell, [_para(link(_short_title(_title(env, doc), "Exercise"), doc))],
                     [_para(nodes.Text(about(entry["seconds"]) if entry else "not measured yet"))],
                     [_para(nodes.Text(f"about {_hours(effort)}" if effort else ""))]])
    table = _table((25, 45, 15, 15), ("Chapter", "Exercise", "Runs in about", "Effort"), rows, ["course-runtimes"])
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
    return [table, caption]


def chapter_folder(env, number) -> str | None:
    """The folder chapters/ch<number>_* that holds the chapter's pages in the book."""
    prefix = f"chapters/ch{number}_"
    found = sorted({d.split("/")[1] for d in env.found_docs if d.startswith(prefix)})
    return f"chapters/{found[0]}" if found else None


def _chapter_table(app, env, link, chapters):
    data, docs = facts(app), exercise_docs(env)
    rows = []
    for ch in chapters:
        folder = chapter_folder(env, ch["number"])
        index = f"{folder}/index" if folder else None
        name = f"{ch['number']}. {ch['title']}"
        if index in env.found_docs:
            chapter_cell = [_para(link(name, index))]
        else:
            chapter_cell = [_para(nodes.Text(name)), _para(nodes.inline("", "being written", classes=["course-status"]))]
        ready = sorted((d for d in docs if folder and d.startswith(folder + "/") and _name(d) in data),
                       key=lambda d: number_key(data[_name(d)]["number"]))
        cell = [_para(link(f"{data[_name(d)]['number']} {data[_name(d)]['title']}", d)) for d in ready]
        planned = ch.get("planned") or []
        if len(ready) < len(planned):
            label = "Planned: " if not ready else "More being written; planned: "
            cell.append(_para(nodes.inline("", label + "; ".join(planned) + ".", classes=["course-status"])))
        rows.append([chapter_cell, [_para(nodes.Text(ch["topics"]))], cell])
    return [_table((22, 43, 35), ("Chapter", "Topics", "Graded exercises"), rows, ["course-chapters"])]


# ---- incremental builds ------------------------------------------------------------------

def outdated(app, env, added, changed, removed):
    """env-get-outdated: re-read the exercise pages whose facts changed (runtime.json,
    exercise.toml and previews are not Sphinx sources, so Sphinx would not notice), and the
    table pages whenever any exercise page or fact changes."""
    data = facts(app)
    shown = {doc: _shown(data.get(_name(doc)) or {}) for doc in env.found_docs if is_exercise(env, doc)}
    before = getattr(env, "course_facts_shown", {})
    env.course_facts_shown = shown
    redo = [doc for doc in shown if doc in before and shown[doc] != before[doc]]
    titles = {n: (f["number"], f["title"]) for n, f in data.items()}
    titles_changed = titles != getattr(env, "course_titles", None)
    env.course_titles = titles
    chapters = sorted({d.split("/")[1] for d in env.found_docs if d.startswith("chapters/")})
    chapters_changed = chapters != getattr(env, "course_chapters", None)
    env.course_chapters = chapters
    if redo or titles_changed or chapters_changed or set(shown) != set(before) or any(d in shown for d in (*added, *changed)):
        redo += [d for d in getattr(env, "course_runtime_tables", ()) if d in env.found_docs]
    return redo


def purge(app, env, docname):
    getattr(env, "course_runtime_tables", set()).discard(docname)


def merge(app, env, docnames, other):
    if not hasattr(env, "course_runtime_tables"):
        env.course_runtime_tables = set()
    env.course_runtime_tables |= getattr(other, "course_runtime_tables", set()) & set(docnames)


def setup(app):
    app.add_node(runtime_table)
    app.add_node(chapter_table)
    app.add_directive("exercise-runtimes", ExerciseRuntimes)
    app.add_directive("course-chapters", CourseChapters)
    app.connect("doctree-read", add_exercise_note, priority=400)  # before Sphinx collects the images
    app.connect("doctree-resolved", fill_tables)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
