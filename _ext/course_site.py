"""Sphinx additions for the course site (loaded through _config.yml's local_extensions).

* fixes to the theme's pages: duplicate scripts, the reader's dark-mode preference, no
  Colab/Binder buttons on text pages, previous/next links that stay in their part of the
  book, Chinese text marked ``lang="zh"`` (the browser fixes are in _assets/course.js);
* what the pages say about the exercises: course_exercises.py.
"""
import os
import re
import sys

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform

sys.path.insert(0, os.path.dirname(__file__))
import course_exercises  # noqa: E402  (a sibling module of this extension)

about = course_exercises.about  # used by the tests


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
    # "auto" follows the reader's operating system (prefers-color-scheme) until they pick a
    # mode with the theme's button; left empty, pydata-sphinx-theme logs "Got invalid theme mode"
    context["default_mode"] = "auto"


def _no_launch_buttons_on_text_pages(app, pagename, templatename, context, doctree):
    """sphinx-book-theme offers Colab and Binder for every page that has a kernel,
    explanation pages (MyST text notebooks) included: Colab cannot open a .md file and
    Binder shows it as text. Only exercise notebooks keep them."""
    if pagename not in app.env.found_docs or str(app.env.doc2path(pagename)).endswith(".ipynb"):
        return
    context["header_buttons"] = [b for b in context.get("header_buttons", []) if b.get("label") != "launch-buttons"]


def _parts(app) -> dict:
    """{docname: caption of its part of the table of contents} (the root page is its own)."""
    env = app.env
    cached = getattr(app, "_course_parts", None)  # on app, not env: env is pickled between builds
    if cached is not None:
        return cached
    parts = {env.config.root_doc: ""}
    root = env.get_doctree(env.config.root_doc)

    def walk(doc, caption):
        if doc in parts:
            return
        parts[doc] = caption
        for child in env.toctree_includes.get(doc, []):
            walk(child, caption)

    for toc in root.findall(addnodes.toctree):
        for _, doc in toc["entries"]:
            walk(doc, toc.get("caption") or "")
    app._course_parts = parts
    return parts


def _nav_within_part(app, pagename, templatename, context, doctree):
    """The previous/next links at the foot of a page stay in its part of the book (the
    landing page links anywhere, and anything may link back to it): the last chapter
    page's "Next" led into the instructors' guide."""
    parts, root = _parts(app), app.env.config.root_doc
    here = parts.get(pagename)
    for key in ("prev", "next"):
        target = context.get(key)
        if not target or here is None or pagename == root:
            continue
        doc = _link_doc(app, pagename, target.get("link", ""))
        if doc is not None and doc != root and parts.get(doc, here) != here:
            context[key] = None


def _link_doc(app, pagename, link: str):
    """The docname a relative page link (``../../instructors.html``) points at."""
    if not link or re.match(r"^[a-z]+:", link):
        return None
    base = os.path.dirname(pagename)
    path = os.path.normpath(os.path.join(base, link.split("#")[0]))
    return re.sub(r"\.html$", "", path).replace(os.sep, "/")


CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+"
                 r"(?:[\s\w()\[\]（）/,.-]{0,12}?[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+)*"
                 r"(?:\s*[（(][^()（）]*[)）])?")


class MarkChinese(SphinxPostTransform):
    """Chinese text gets ``lang="zh"`` (the class ``language-zh``, which docutils' HTML
    writer turns into the attribute): screen readers then read it in Chinese and browsers
    pick a Chinese font. A table cell that is all Chinese is marked as a whole, Chinese
    runs in other text as spans."""
    default_priority = 900
    formats = ("html",)
    SKIP = (nodes.literal_block, nodes.literal, nodes.math, nodes.math_block, nodes.raw, nodes.comment)

    def run(self):
        for entry in self.document.findall(nodes.entry):
            text = entry.astext().strip()
            if text and CJK.search(text) and not re.search(r"[A-Za-z]{4,}", CJK.sub("", text)):
                entry["classes"].append("language-zh")
        for text in list(self.document.findall(nodes.Text)):
            parent = text.parent
            if parent is None or isinstance(parent, self.SKIP) or self._marked(parent):
                continue
            value = str(text)
            if not CJK.search(value):
                continue
            pieces, at = [], 0
            for m in CJK.finditer(value):
                if m.start() > at:
                    pieces.append(nodes.Text(value[at:m.start()]))
                pieces.append(nodes.inline(m.group(0), m.group(0), classes=["language-zh"]))
                at = m.end()
            if at < len(value):
                pieces.append(nodes.Text(value[at:]))
            parent.replace(text, pieces)

    @staticmethod
    def _marked(node) -> bool:
        while node is not None:
            if isinstance(node, MarkChinese.SKIP):
                return True
            if "language-zh" in node.get("classes", []) if isinstance(node, nodes.Element) else False:
                return True
            node = node.parent
        return False


def setup(app):
    app.connect("html-page-context", _theme_mode)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("html-page-context", _no_launch_buttons_on_text_pages, priority=600)  # after the theme's (501)
    app.connect("html-page-context", _nav_within_part)
    app.add_post_transform(MarkChinese)
    course_exercises.setup(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
