"""The built website (./course test builds it before running pytest)."""
import html
import re


from autograder import course
from autograder.notebook import cells as C
from autograder.publishing import bundle
from autograder.publishing import leaks


def _toc_files():
    return course.toc_files()


def test_every_toc_page_is_built(site):
    for f in _toc_files():
        assert (site / f"{f}.html").exists(), f"{f} is in _toc.yml but was not built"


def test_every_exercise_is_on_the_site_with_a_download(site):
    toc = set(_toc_files())
    for ex in course.exercises():
        rel = ex.student.relative_to(course.ROOT).with_suffix("")
        assert str(rel) in toc, f"{ex} is not in _toc.yml"
        page = (site / f"{rel}.html").read_text()
        assert f"_sources/{rel}.ipynb" in page, f"{ex}: no notebook download on its page"
        offered = (site / "_sources" / f"{rel}.ipynb").read_bytes()
        assert offered == ex.student.read_bytes(), f"{ex}: the download is not the student notebook"


def test_no_solution_or_hidden_test_anywhere_on_the_site(site):
    secret = set().union(*(leaks.exercise_secrets(ex) for ex in course.exercises()))
    # generic lines that one exercise hides and another shows (e.g. "g = generator(seed)") are not secrets
    shown = leaks.normalise("\n".join(c.source for ex in course.exercises() for c in C.read(ex.student).cells))
    secret = {s for s in secret if s not in shown}
    for f in site.rglob("*"):
        if f.suffix in (".html", ".ipynb", ".md", ".txt", ".js") and "mathjax" not in f.parts:
            text = f.read_text(errors="ignore")
            text = leaks.html_text(text) if f.suffix == ".html" else text
            found = leaks.found(text, secret)
            assert not found, f"{f.relative_to(site)} shows solution/hidden text: {found[:2]}"
    names = {p.name for p in site.rglob("*")}
    for forbidden in ("gradebook.db", "autograded", "submitted", "feedback", "solutions", "_work"):
        assert forbidden not in names, f"nbgrader/instructor folder {forbidden} was published"


def test_math_is_served_locally(site):
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    for page in site.rglob("*.html"):
        text = page.read_text()
        assert not re.search(r"https?://[^\"']*mathjax", text, re.I), f"{page.name} loads MathJax from a CDN"


def test_explanation_pages_show_figures_made_at_build_time(site):
    page = (site / "chapters" / "ch1_transformers" / "index.html").read_text()
    assert re.search(r"<img[^>]+src=\"[^\"]*_images/", page), "the chapter overview's figure is missing"
    assert "Traceback" not in leaks.html_text(page)


def test_internal_links_and_anchors_resolve(site):
    """Every relative link of every page points at an existing file and, if it has one, anchor."""
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.links, self.ids = [], set()

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if "id" in a:
                self.ids.add(a["id"])
            for key in ("href", "src"):
                if tag in ("a", "img", "link", "script") and a.get(key):
                    self.links.append(a[key])

    pages = {}
    for f in site.rglob("*.html"):
        if "_static" in f.relative_to(site).parts:  # theme templates, not pages
            continue
        c = Collect()
        c.feed(f.read_text(errors="ignore"))
        pages[f.resolve()] = c
    broken = []
    for f, c in pages.items():
        for link in c.links:
            if re.match(r"^[a-z]+:|^//|^#$|^mailto:", link) or link.startswith("javascript"):
                continue
            target, _, anchor = link.partition("#")
            target = target.split("?")[0]
            dest = (f.parent / target).resolve() if target else f
            if not dest.exists():
                broken.append(f"{f.relative_to(site.resolve())}: {link}")
            elif anchor and dest.suffix == ".html" and dest in pages and anchor not in pages[dest].ids:
                broken.append(f"{f.relative_to(site.resolve())}: {link} (no such anchor)")
    assert not broken, f"{len(broken)} broken links: {broken[:5]}"


def test_launch_buttons_open_the_student_repository(site):
    """Colab, Binder and repository buttons point at the published student bundle, at a
    path the bundle holds (they cannot be clicked here: check the URLs)."""
    url, branch = course.repository()
    owner_repo = url.split("github.com/")[1]
    for ex in course.exercises():
        rel = ex.student.relative_to(course.ROOT)
        assert rel.parts[0] in bundle.FOLDERS, f"{rel} is not in the student bundle"
        page = (site / rel.with_suffix(".html")).read_text()
        colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{rel.as_posix()}"
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/{rel.as_posix()}"
        assert colab in page, f"{ex}: no Colab button to {colab}"
        assert binder in page, f"{ex}: no Binder button to {binder}"
        assert f'href="{url}"' in page, f"{ex}: no repository button to {url}"


def _about(seconds):
    return bundle.site_facts().about(seconds)


def test_exercise_pages_show_their_run_time(site):
    from autograder.publishing import runtimes

    data = runtimes.load()
    for ex in course.exercises():
        assert ex.name in data, f"{ex} has no run time: run ./course site"
        rel = ex.student.relative_to(course.ROOT).with_suffix("")
        text = leaks.html_text((site / f"{rel}.html").read_text())
        shown = f"Runs in about {_about(data[ex.name]['seconds'])} on a {data[ex.name]['cpus']}-core CPU"
        assert re.sub(r"\s+", " ", shown) in re.sub(r"\s+", " ", text), f"{ex}: its page does not say how long it runs"
        title_at, note_at = text.find("Exercise "), text.find("Runs in about")
        assert 0 <= title_at < note_at, f"{ex}: the run time is not under the title"
        effort = f"Expected effort: about {ex.meta.effort_hours:g} hour"
        assert effort in text, f"{ex}: its page does not say the expected effort (exercise.toml)"
        code_points = sum(ex.meta.points[i] for i in ex.layout.items)
        assert f"{code_points:g} points graded automatically" in text, f"{ex}: its page does not give the points"
        if ex.layout.written:
            assert "for written answers, graded by hand" in text


def test_landing_page_lists_every_exercise_with_its_run_time(site):
    from autograder.publishing import runtimes

    page = (site / "intro.html").read_text()
    table = re.search(r'<table[^>]*course-runtimes.*?</table>', page, re.S)
    assert table, "the landing page has no run-time table"
    rows = re.findall(r"<tr.*?</tr>", table.group(0), re.S)[1:]
    data = runtimes.load()
    for ex in course.exercises():
        rel = ex.student.relative_to(course.ROOT).with_suffix("")
        row = next((r for r in rows if f'href="{rel}.html"' in r), None)
        assert row, f"{ex} is not in the landing page's run-time table"
        assert ex.name in data and f">{_about(data[ex.name]['seconds'])}<" in row, f"{ex}: wrong or missing time in the table"
        assert f">about {ex.meta.effort_hours:g} hour" in row, f"{ex}: no expected effort in the table"
    assert len(rows) == len(course.exercises())


# ---- the site's own fixes and what a learner finds -------------------------------------------

def _page(site, doc) -> str:
    return (site / f"{doc}.html").read_text()


def _source_suffix(doc) -> str:
    return next(p.suffix for p in (course.ROOT / doc).parent.glob(course.ROOT.joinpath(doc).name + ".*")
                if p.suffix in (".md", ".ipynb"))


def test_text_pages_offer_no_colab_or_binder(site):
    """Colab cannot open a .md page and Binder shows it as text: only notebooks get them."""
    for doc in _toc_files():
        page = _page(site, doc)
        if _source_suffix(doc) == ".md":
            assert "colab.research.google.com" not in page and "mybinder.org" not in page, f"{doc}: launch buttons on a text page"


def _toc_parts() -> dict:
    import yaml

    toc = yaml.safe_load((course.ROOT / "_toc.yml").read_text())
    parts = {}

    def walk(entries, caption):
        for e in entries:
            if "file" in e:
                parts[e["file"]] = caption
            walk(e.get("sections", []), caption)
            walk(e.get("chapters", []), caption)

    for part in toc.get("parts", []):
        walk(part.get("chapters", []), part.get("caption"))
    return parts


def test_previous_and_next_stay_in_their_part(site):
    """The last chapter page's "Next" must not lead into the instructors' guide."""
    import posixpath

    parts = _toc_parts()
    for doc, part in parts.items():
        area = re.search(r'<div class="prev-next-area">(.*?)</div>\s*</footer>|<div class="prev-next-area">(.*?)</div>',
                         _page(site, doc), re.S)
        for href in re.findall(r'href="([^"#]+)\.html', area.group(0) if area else ""):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(doc), href))
            if target in parts:
                assert parts[target] == part, f"{doc} ({part}) links to {target} ({parts[target]}) as previous/next"


def test_landing_page_says_where_to_start(site):
    text = leaks.html_text(_page(site, "intro"))
    page = _page(site, "intro")
    url, _ = course.repository()
    assert 'id="start-here"' in page, "the landing page has no Start here section"
    start = leaks.html_text(page[page.index('id="start-here"'):page.index('id="what-the-course-is"')]).replace("\u2019", "'")
    assert f'href="{url}"' in page, f"Start here does not link the student repository {url}"
    assert "student repository" in start and "instructors' repository" in start, "Start here does not name both repositories"
    torch = next(l for l in (course.ROOT / "requirements.txt").read_text().splitlines() if l.startswith("torch=="))
    assert f"pip install {torch} --index-url https://download.pytorch.org/whl/cpu" in start, \
        f"the laptop set-up does not install {torch} (requirements.txt)"
    assert f"git clone {url}.git" in start
    for what in ("Colab", "Studying on your own", "visible checks", "reference run"):
        assert what in start, f"Start here says nothing about {what}"
    assert "Studying on your own" in text


def test_chapter_table_links_every_ready_exercise(site):
    """Every exercise on the site is linked from its chapter's row (from exercise.toml, by
    the site's extension); a chapter without pages says it is being written."""
    page = _page(site, "intro")
    table = re.search(r'<table[^>]*course-chapters.*?</table>', page, re.S)
    assert table, "the landing page has no chapter table"
    rows = re.findall(r"<tr.*?</tr>", table.group(0), re.S)[1:]
    toc = _toc_files()
    numbers = []
    for row in rows:
        first = re.search(r"<td.*?</td>", row, re.S).group(0)
        number = int(re.search(r"<p>(?:<a [^>]*>)?(\d+)\. ", first).group(1))
        numbers.append(number)
        written = any(d.startswith(f"chapters/ch{number}_") and d.endswith("/index") for d in toc)
        assert ("being written" in first) != written, f"chapter {number}: {'marked as being written' if written else 'not marked as being written'}"
        assert ("<a " in first) == written, f"chapter {number}: its overview page should be linked exactly when it exists"
    assert numbers == sorted(numbers) and len(numbers) >= 6
    for ex in course.exercises():
        rel = ex.student.relative_to(course.ROOT).with_suffix("")
        if str(rel) not in toc:
            continue
        row = rows[numbers.index(int(ex.meta.number.split(".")[0]))]
        link = re.search(rf'<a [^>]*href="{re.escape(str(rel))}.html"[^>]*>(.*?)</a>', row, re.S)
        assert link, f"{ex} is not linked from chapter {ex.meta.number.split('.')[0]}'s row"
        assert leaks.html_text(link.group(1)) == f"{ex.meta.number} {ex.meta.title}"


def test_exercise_pages_say_how_to_hand_in(site):
    for ex in course.exercises():
        text = leaks.html_text(_page(site, ex.page))
        assert "Handing it in:" in text and f"keep the file name {ex.name}.ipynb" in text, f"{ex}: no hand-in note"
        assert "On your own:" in text


def test_previews_are_fresh_and_shown_after_their_cells(site):
    """The reference run's figures of the cells tagged 'preview' (previews.py), with alt
    text and caption, right after their cell; none from a cell the learner writes."""
    from autograder.notebook import cells as C
    from autograder.publishing import previews, runtimes

    assert not previews.stale(), f"stale previews: {[str(e) for e in previews.stale()]}: run ./course site"
    for ex in course.exercises():
        rec = previews.record(ex) or {"figures": []}
        nb = runtimes.timed_notebook(ex)
        page = _page(site, ex.page)
        for fig in rec["figures"]:
            cell = nb.cells[fig["cell"]]
            assert not C.is_solution(cell) and C.grade_id(cell) is None, f"{ex}: a preview of a graded or solution cell"
            assert (previews.folder(ex) / fig["file"]).exists()
            at = next((m.start() for m in re.finditer(r'<img [^>]*alt="([^"]*)"', page) if html.unescape(m.group(1)) == fig["alt"]), -1)
            assert at > 0, f"{ex}: preview {fig['file']} is not on its page with its alt text"
            after = page[at:at + 3000]
            assert leaks.normalise(fig["caption"]) in leaks.html_text(after), f"{ex}: preview {fig['file']} has no caption"
            code, before = leaks.normalise(cell.source), leaks.html_text(page[:at])
            assert code[-80:] in before[-len(code) - 300:], f"{ex}: preview {fig['file']} is not right under its cell"


def test_internal_documents_are_not_published(site):
    """docs/ (authoring, grading internals) stays in the instructors' repository."""
    headings = [l[3:].strip() for f in (course.ROOT / "docs").glob("*.md")
                for l in f.read_text().splitlines() if l.startswith("## ")]
    assert headings
    for page in site.rglob("*.html"):
        text = page.read_text(errors="ignore")
        for h in ("Where the verdict is computed", "How the tool is organised"):
            assert f">{h}<" not in text, f"{page.relative_to(site)} publishes the internal section {h!r}"
    assert not list(site.rglob("authoring.html")) and not list(site.rglob("grading.html"))


def test_leak_check_ignores_lines_that_name_nothing():
    """A hidden test's ``for i in range(n):`` is in any Python code; its names are not."""
    import nbformat

    hidden = "for i in range(n):\nexcept Exception:\n    check_close(learner.rope(q), ref.rope(q))\n"
    sec = leaks.secrets(nbformat.v4.new_notebook(), solution=False, hidden_tests=hidden)
    assert sec == {"check_close(learner.rope(q), ref.rope(q))"}
    assert leaks.distinctive("return x.sum(dim=-1)") and not leaks.distinctive("return len(x) > 0")
