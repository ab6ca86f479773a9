"""The built website (./course test builds it before running pytest)."""
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
    import importlib.util

    spec = importlib.util.spec_from_file_location("course_site", course.ROOT / "_ext" / "course_site.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.about(seconds)


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
