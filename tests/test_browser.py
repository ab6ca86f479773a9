"""The built site in a real browser (Debian's chromium, driven by Playwright), offline, at a
phone's width (390 px) and a laptop's (1280 px), on every page of _toc.yml.

Each page is opened once per width and audited in the page (``AUDIT``); the tests below
read the audit, so each names one defect: console errors, math left unrendered, a page or
an element wider than the screen, a display equation cut without a scroll hint, a formula
in the tab order, a figure without alt text or caption or drawn too small to read, Chinese
text not marked lang="zh". Other tests click: the navigation drawers, keyboard focus on the
header buttons, the reader's dark-mode preference. Screenshots of every page at both widths
go to _build/screenshots/ (look at them after a layout change).
"""
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
PHONE, DESKTOP = 390, 1280
WIDTHS = [PHONE, DESKTOP]
# a figure shown below this fraction of its drawn size (at 100 dpi) at 1280 px has text
# under ~8 px: draw it narrower (figsize) instead
MIN_FIGURE_SCALE = 0.6


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


def _open(browser, url, width=DESKTOP, scheme="light"):
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=20000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    # the site's script marks what scrolls once the equations have their width
    page.evaluate("() => window.courseMarkScrollers && window.courseMarkScrollers()")
    return page, errors


AUDIT = r"""() => {
  const article = document.querySelector('.bd-article') || document.querySelector('main') || document.body;
  const vw = document.documentElement.clientWidth;
  const shown = e => { const s = getComputedStyle(e); const r = e.getBoundingClientRect();
                       return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0; };
  const scroller = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
                            const o = getComputedStyle(a).overflowX; if (o !== 'visible') return a; } return null; };
  const label = e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} "${e.textContent.trim().slice(0, 50)}"`;
  const hinted = s => s && ['auto', 'scroll'].includes(getComputedStyle(s).overflowX) && s.classList.contains('course-scrolls')
                        && getComputedStyle(s).backgroundImage.includes('gradient');
  const out = {vw, docWidth: document.documentElement.scrollWidth, sticking: [], cutEquations: [], equations: 0};

  // anything reaching past the article's right edge must be inside a box that scrolls and says so
  const right = Math.min(article.getBoundingClientRect().right, vw);
  for (const e of article.querySelectorAll('*')) {
    if (!shown(e) || e.getBoundingClientRect().right <= right + 1 || e.closest('mjx-assistive-mml')) continue;
    const s = e.parentElement && e.parentElement.closest('.course-scrolls');
    if (s && article.contains(s) && hinted(s) && s.getBoundingClientRect().right <= right + 1) continue;
    if (out.sticking.length < 5 && !out.sticking.some(t => e.parentElement && t.startsWith(label(e.parentElement)))) out.sticking.push(label(e));
  }

  // display equations: wider than their box -> that box scrolls, shows the hint, is reachable by keyboard
  for (const m of document.querySelectorAll('mjx-container[display="true"]')) {
    out.equations++;
    const math = m.querySelector('mjx-math') || m;
    const s = scroller(m);
    const box = s ? s.getBoundingClientRect() : article.getBoundingClientRect();
    const cut = math.getBoundingClientRect().width > box.width + 1 || math.getBoundingClientRect().right > box.right + 1;
    if (!cut) continue;
    const ok = hinted(s) && s.scrollWidth + 1 >= math.getBoundingClientRect().width && s.tabIndex === 0;
    if (!ok) out.cutEquations.push(m.textContent.slice(0, 40) + (s ? ` (in ${s.tagName.toLowerCase()}.${[...s.classList].join('.')})` : ''));
  }

  // formulas as keyboard tab stops
  out.formulaTabStops = [...document.querySelectorAll('mjx-container, mjx-container *')].filter(e => e.tabIndex >= 0).length;

  // figures
  out.images = [...article.querySelectorAll('img')].filter(shown).map(i => {
    const fig = i.closest('figure');
    const cap = fig && fig.querySelector('figcaption');
    return {src: i.getAttribute('src'), alt: i.getAttribute('alt') || '', natural: i.naturalWidth,
            width: i.getBoundingClientRect().width, caption: cap ? cap.textContent.trim() : ''};
  });
  out.broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);

  // math left as TeX
  const m = (document.querySelector('main') || document.body).cloneNode(true);
  m.querySelectorAll('pre, code, mjx-container, .highlight').forEach(e => e.remove());
  out.leftovers = (m.textContent.match(/\$\$|\\\(|\\\[|\\frac|\\sqrt/g) || []).slice(0, 3);

  // Chinese text: every run of it inside an element that says lang="zh"
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  out.unmarkedChinese = [];
  while (walker.nextNode()) {
    const t = walker.currentNode;
    if (!/[\u3400-\u9fff]/.test(t.textContent) || t.parentElement.closest('pre, code, mjx-container')) continue;
    const lang = t.parentElement.closest('[lang]');
    if (!lang || !lang.getAttribute('lang').startsWith('zh')) out.unmarkedChinese.push(t.textContent.trim().slice(0, 20));
  }
  return out;
}"""


@functools.lru_cache(maxsize=None)
def _audit(server, browser, doc, width):
    page, errors = _open(browser, f"{server}/{doc}.html", width)
    try:
        result = page.evaluate(AUDIT)
        result["errors"] = errors
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{doc.replace('/', '_')}-{width}.png"), full_page=False)
        return result
    finally:
        page.close()


@pytest.fixture
def audit(server, browser):
    return functools.partial(_audit, server, browser)


PAGES = [(doc, w) for doc in _toc_files() for w in WIDTHS]
IDS = [f"{doc}-{w}" for doc, w in PAGES]


@pytest.mark.parametrize("doc, width", PAGES, ids=IDS)
def test_page_renders_cleanly(audit, doc, width):
    a = audit(doc, width)
    assert not a["errors"], f"console errors on {doc}: {a['errors'][:3]}"
    assert not a["leftovers"], f"{doc}: math not rendered ({a['leftovers']})"
    assert not a["broken"], f"{doc}: images that do not load: {a['broken']}"


@pytest.mark.parametrize("doc, width", PAGES, ids=IDS)
def test_no_page_is_wider_than_the_screen(audit, doc, width):
    a = audit(doc, width)
    assert a["docWidth"] <= a["vw"], f"{doc} at {width} px is {a['docWidth']} px wide: the reader scrolls the whole page sideways"
    assert not a["sticking"], (f"{doc} at {width} px: reaching past the column, not in a box that scrolls with a hint "
                               f"(course.css/course.js): {a['sticking']}")


@pytest.mark.parametrize("doc, width", PAGES, ids=IDS)
def test_cut_equations_scroll_with_a_hint(audit, doc, width):
    a = audit(doc, width)
    assert not a["cutEquations"], (f"{doc} at {width} px: display equations wider than the column without a scroll hint "
                                   f"and keyboard access: {a['cutEquations'][:3]}")


@pytest.mark.parametrize("doc", _toc_files())
def test_formulas_are_not_tab_stops(audit, doc):
    a = audit(doc, DESKTOP)
    assert a["formulaTabStops"] == 0, f"{doc}: {a['formulaTabStops']} formulas are keyboard tab stops (MathJax's inTabOrder)"


@pytest.mark.parametrize("doc", _toc_files())
def test_figures_have_alt_text_a_caption_and_readable_text(audit, doc):
    how = ("give the code cell that draws it mystnb: {image: {alt: ...}, figure: {caption: ...}} (see "
           "chapters/ch1_transformers/positions.md)")
    for img in audit(doc, DESKTOP)["images"]:
        alt = img["alt"].strip()
        assert alt and not re.search(r"\.(png|jpe?g|svg|gif)$|_images/", alt), f"{doc}: {img['src']} has no alt text: {how}"
        assert img["caption"], f"{doc}: {img['src']} has no caption: {how}"
        if img["natural"] > 150:
            scale = img["width"] / img["natural"]
            assert scale >= MIN_FIGURE_SCALE, (
                f"{doc}: {img['src']} is drawn {img['natural']} px wide and shown at {img['width']:.0f} px, so its text "
                f"shrinks to {scale:.0%}: make the figure at most {img['width'] / MIN_FIGURE_SCALE / 100:.1f} inches wide")


@pytest.mark.parametrize("doc", _toc_files())
def test_chinese_text_is_marked(audit, doc):
    a = audit(doc, DESKTOP)
    assert not a["unmarkedChinese"], f"{doc}: Chinese text without lang=\"zh\": {a['unmarkedChinese'][:3]}"


def test_audit_sees_the_defects_it_looks_for(server, browser):
    """The audit is no test that cannot fail: on a page spoilt on purpose it reports each defect."""
    page, _ = _open(browser, f"{server}/chapters/ch1_transformers/positions.html", PHONE)
    try:
        page.evaluate("""() => {
            const a = document.querySelector('.bd-article');
            const code = document.createElement('code');
            code.textContent = 'x'.repeat(200); code.style.whiteSpace = 'nowrap';
            a.prepend(code);
            const eq = document.querySelector('div.math.course-scrolls');
            eq.classList.remove('course-scrolls'); eq.style.overflowX = 'hidden';
            document.querySelector('mjx-container').tabIndex = 0;
            const img = a.querySelector('figure img'); img.alt = '_images/abc.png';
            const p = document.createElement('p'); p.textContent = '注意力'; a.append(p);
        }""")
        a = page.evaluate(AUDIT)
    finally:
        page.close()
    assert a["docWidth"] > a["vw"] or a["sticking"]
    assert a["cutEquations"] and a["formulaTabStops"] and a["unmarkedChinese"]
    assert any(i["alt"] == "_images/abc.png" for i in a["images"])


# ---- clicks and keys ------------------------------------------------------------------------

def _visible_toggles(page, kind):
    return [b for b in page.locator(f"button.{kind}-toggle").all() if b.is_visible()]


@pytest.mark.parametrize("doc", ["intro", "chapters/ch1_transformers/positions"])
def test_navigation_drawers_open_on_a_phone(server, browser, doc):
    page, _ = _open(browser, f"{server}/{doc}.html", PHONE)
    try:
        for kind, what in (("primary", "the site navigation"), ("secondary", "the page's contents")):
            buttons = _visible_toggles(page, kind)
            assert buttons, f"{doc}: no visible button opens {what} at {PHONE} px"
            for button in buttons:
                button.click()
                page.wait_for_timeout(300)
                state = page.evaluate(f"""() => {{ const d = document.getElementById('pst-{kind}-sidebar-modal');
                    return {{open: d.open, links: [...d.querySelectorAll('a')].filter(a => a.getBoundingClientRect().width > 0
                             && a.getBoundingClientRect().left >= 0 && a.getBoundingClientRect().left < innerWidth).length}}; }}""")
                assert state["open"] and state["links"] > 0, f"{doc}: the {kind} drawer button does nothing at {PHONE} px"
                page.keyboard.press("Escape")
                page.wait_for_timeout(300)
                assert not page.evaluate(f"() => document.getElementById('pst-{kind}-sidebar-modal').open")
    finally:
        page.close()


def test_sidebar_button_collapses_the_sidebar_on_a_laptop(server, browser):
    page, _ = _open(browser, f"{server}/chapters/ch1_transformers/positions.html", DESKTOP)
    visible = "() => getComputedStyle(document.getElementById('pst-primary-sidebar')).visibility"
    try:
        buttons = _visible_toggles(page, "primary")
        assert buttons and page.evaluate(visible) == "visible"
        buttons[0].click()
        page.wait_for_timeout(600)
        assert page.evaluate(visible) == "hidden", "the sidebar button does not collapse the sidebar at 1280 px"
        assert not page.evaluate("() => document.getElementById('pst-primary-sidebar-modal').open")
        buttons[0].click()
        page.wait_for_timeout(600)
        assert page.evaluate(visible) == "visible"
    finally:
        page.close()


def test_header_buttons_show_a_focus_ring(server, browser):
    page, _ = _open(browser, f"{server}/chapters/ch1_transformers/attention.html", DESKTOP)
    ring = """() => { const e = document.activeElement; const s = getComputedStyle(e);
        return {inHeader: !!e.closest('.bd-header-article'), label: e.getAttribute('aria-label') || e.title || e.textContent.trim(),
                ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || (s.boxShadow !== 'none' && s.boxShadow !== '')}; }"""
    try:
        seen = []
        for _ in range(200):  # past the skip link, the search and the sidebar's links
            page.keyboard.press("Tab")
            f = page.evaluate(ring)
            if f["inHeader"]:
                seen.append(f)
            elif seen:
                break
        assert len(seen) >= 3, f"the keyboard reaches {len(seen)} header buttons"
        bare = [f["label"] for f in seen if not f["ring"]]
        assert not bare, f"header buttons without a visible focus ring: {bare}"
    finally:
        page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_readers_colour_scheme_is_followed(server, browser, scheme):
    page, _ = _open(browser, f"{server}/chapters/ch1_transformers/positions.html", DESKTOP, scheme=scheme)
    try:
        theme = page.evaluate("() => document.documentElement.dataset.theme")
        bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"positions-{scheme}.png"))
    finally:
        page.close()
    assert theme == scheme, f"prefers-color-scheme: {scheme}, but the page is {theme}"
    r, g, b = (int(v) for v in re.findall(r"\d+", bg)[:3])
    assert (r + g + b < 150) == (scheme == "dark"), f"{scheme} mode with background {bg}"


# ---- what the reader finds ----------------------------------------------------------------------

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
