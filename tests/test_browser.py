"""The built site in a real browser (Debian's chromium, driven by Playwright), offline."""
import functools
import http.server
import re
import shutil
import threading

import pytest

from autograder import course

from test_site import _toc_files

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not __import__("os").environ.get("CI"),
                                reason="chromium is not installed (./course test installs it)")
SHOTS = course.ROOT / "_build" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "chromium is missing"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=20000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    return page, errors


@pytest.mark.parametrize("doc", _toc_files())
def test_page_renders_cleanly(server, browser, doc):
    page, errors = _open(browser, f"{server}/{doc}.html")
    try:
        assert not errors, f"console errors on {doc}: {errors[:3]}"
        text = page.evaluate("""() => { const m = document.querySelector('main').cloneNode(true);
            m.querySelectorAll('pre, code, mjx-container, .highlight').forEach(e => e.remove());
            return m.textContent; }""")
        leftovers = [m for m in re.findall(r"\$\$|\\\(|\\\[|\\frac|\\sqrt", text)]
        assert not leftovers, f"{doc}: math not rendered ({leftovers[:3]})"
        broken = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        assert not broken, f"{doc}: images that do not load: {broken}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{doc.replace('/', '_')}.png"), full_page=False)
    finally:
        page.close()


def test_sidebar_reaches_every_page(server, browser):
    page, _ = _open(browser, f"{server}/intro.html")
    hrefs = page.evaluate("() => [...document.querySelectorAll('nav.bd-docs-nav a')].map(a => a.getAttribute('href'))")
    page.close()
    reached = {re.sub(r"\.html(#.*)?$", "", h) for h in hrefs if h}
    for doc in _toc_files()[1:]:
        assert doc in reached, f"the sidebar has no link to {doc}"


def test_search_finds_chapter_one(server, browser):
    page, errors = _open(browser, f"{server}/search.html?q=multi-head+attention")
    page.wait_for_selector("#search-results li", timeout=20000)
    hits = page.evaluate("() => [...document.querySelectorAll('#search-results li a')].map(a => a.getAttribute('href'))")
    page.close()
    assert any("ch1_transformers/attention" in h for h in hits), hits


def test_exercise_pages_offer_the_notebook(server, browser):
    for ex in course.exercises():
        rel = ex.student.relative_to(course.ROOT).with_suffix("")
        page, _ = _open(browser, f"{server}/{rel}.html")
        links = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.href).filter(h => h.endsWith('.ipynb'))")
        page.close()
        assert any(l.endswith(f"_sources/{rel}.ipynb") for l in links), f"{ex}: no download link"
