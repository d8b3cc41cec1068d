"""The published book in a real browser, offline: every page of the ToC is loaded in headless Chromium.

On each page: its title, no failed request (and none to another host), every image loaded, math typeset by
the site's own MathJax, in-page and sidebar links that resolve. Then the search page, the dashboard (with a
screenshot) and the widget fallback. See conftest.py for how the site is served and the browser started.
"""
from __future__ import annotations

import re
import shutil
from functools import lru_cache
from pathlib import Path

import pytest

from medrepro.papers import load

pytestmark = pytest.mark.browser

BOOK_TITLE = "medrepro — medical AI papers, reproduced and taught"
ROOT = Path(__file__).resolve().parents[2]
CATALOG = load()


def _first_heading(md: Path) -> str | None:
    for line in md.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return None


def _html_page(source: str) -> str:
    return re.sub(r"\.(md|ipynb)$", "", source) + ".html"


# (page, expected <h1>, or None where only title == h1 is checked), in ToC order.
PAGES: list[tuple[str, str | None]] = [
    ("book/intro.html", _first_heading(ROOT / "book" / "intro.md")),
    ("book/how-to-use.html", _first_heading(ROOT / "book" / "how-to-use.md")),
    ("book/dashboard.html", "Reproduction dashboard"),
]
for _part in CATALOG.parts:
    PAGES.append((f"book/parts/{_part.id}.html", _first_heading(ROOT / "book" / "parts" / f"{_part.id}.md")))
    PAGES += [(_html_page(p.notebook), None) for p in CATALOG.in_part(_part.id) if p.implemented and p.notebook]
PAGES.append(("book/references.html", _first_heading(ROOT / "book" / "references.md")))
NOTEBOOK_PAGES = [_html_page(p.notebook) for p in CATALOG.implemented() if p.notebook]
PAGE_IDS = [p for p, _ in PAGES]


@pytest.fixture(params=PAGES, ids=PAGE_IDS)
def page(request, visitor):
    path, expected_h1 = request.param
    return path, expected_h1, visitor.visit(path)


def test_index_redirects_to_intro(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.base)
    WebDriverWait(browser, 10).until(lambda d: d.current_url.endswith("book/intro.html"))
    assert server.failed() == []


def test_page_title(page):
    path, expected_h1, info = page
    assert info["h1"], f"{path}: no <h1>"
    if expected_h1 is not None:
        assert info["h1"] == expected_h1
    assert info["title"] == f"{info['h1']} — {BOOK_TITLE}", f"{path}: title {info['title']!r}"


def test_no_failed_or_remote_request(page, server):
    path, _, info = page
    assert info["server_errors"] == [], f"{path}: the local server answered errors: {info['server_errors']}"
    assert info["http_errors"] == [], f"{path}: HTTP errors: {info['http_errors']}"
    assert info["load_failures"] == [], f"{path}: requests that failed: {info['load_failures']}"
    # Only network schemes count: chrome:// and the like are the browser's own pages, never fetched.
    remote = [u for u in info["requested"] if u.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp")
              and not u.startswith(server.base)]
    assert remote == [], f"{path}: the page asked another host (the book must work offline): {remote}"
    assert any(u.endswith(path) for u in info["requested"]), "the page itself was not requested?"
    assert info["console_errors"] == [], f"{path}: JavaScript errors: {info['console_errors']}"


def test_images_loaded(page):
    path, _, info = page
    broken = [i["src"][:120] for i in info["images"] if not (i["complete"] and i["w"] > 0)]
    assert broken == [], f"{path}: images that did not load: {broken}"


def test_widgets_render_from_the_site(page):
    """Widgets render with the site's own copies of RequireJS and the ipywidgets manager (no fallback)."""
    path, _, info = page
    assert all(w == "rendered" for w in info["widgets"]), f"{path}: widgets {info['widgets']}"


def test_math_typeset(page, report):
    path, _, info = page
    m = info["math"]
    # Whether or not the page has math, no TeX may be left raw in its text.
    assert info["rawDollars"] == 0, f"{path}: raw $$ left in the text (math not parsed)"
    if m["elements"] == 0:
        report["math_not_applicable"].append(path)
        return
    assert m["mathjax"], f"{path}: has {m['elements']} math elements but MathJax did not load"
    assert m["raw"] == [], f"{path}: math left untypeset: {m['raw'][:5]}"
    assert m["typeset"] >= m["elements"], f"{path}: {m['typeset']} MathJax elements for {m['elements']} math"
    assert m["errors"] == 0, f"{path}: {m['errors']} MathJax errors (bad TeX)"
    report["math_typeset"].append(f"{path} ({m['elements']}, MathJax {m['version']})")


def test_math_check_applies_to_the_intro(visitor):
    """The intro has a Notation section with math: the math check must have something to check."""
    info = visitor.visit("book/intro.html")
    assert info["math"]["elements"] >= 3 and info["math"]["typeset"] >= info["math"]["elements"]
    assert info["math"]["version"].startswith("3.")


@lru_cache(maxsize=None)
def _ids_in(file: Path) -> frozenset[str]:
    text = file.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\b(?:id|name)="([^"]+)"', text))


def test_links_resolve(page, visitor, report):
    path, _, info = page
    bad = []
    for link in info["links"]:
        raw, url = link["raw"], link["abs"]
        if raw.startswith("#"):
            frag = raw[1:]
            if frag and frag not in info["ids"]:
                bad.append(f"in-page {raw}")
            continue
        target, frag = visitor.local_path(url)
        if target is None:
            if url.startswith(("http:", "https:")):
                report["external_links"].append(url)
            continue
        if not target.is_file():
            bad.append(f"{raw} -> missing {target.relative_to(visitor.html_dir)}")
        elif frag and target.suffix == ".html" and frag not in _ids_in(target):
            bad.append(f"{raw} -> no #{frag} in {target.relative_to(visitor.html_dir)}")
    assert bad == [], f"{path}: links that do not resolve: {bad[:20]}"


def test_sidebar_lists_every_page(page, visitor):
    path, _, info = page
    targets = set()
    for link in info["links"]:
        if link["sidebar"]:
            target, _ = visitor.local_path(link["abs"])
            if target is not None:
                assert target.is_file(), f"{path}: sidebar link {link['raw']} is broken"
                targets.add(target.relative_to(visitor.html_dir).as_posix())
    missing = [p for p in PAGE_IDS if p not in targets and p != "book/intro.html"]
    assert missing == [], f"{path}: the sidebar misses {missing}"


def _search_word_and_page(html_dir: Path) -> tuple[str, str, str]:
    """A word of a paper's title that few other titles share, and the page the search must return.

    For a paper with a notebook, its notebook page, with a word of the title that the page shows; while no
    notebook exists (or no title word is on its page), the part page that lists the paper.
    """
    titles = [p.title.lower() for p in CATALOG.papers]

    def by_rarity(title: str) -> list[str]:
        words = set(re.findall(r"[A-Za-z]{6,}", title))
        return sorted(words, key=lambda w: (sum(re.search(rf"\b{w.lower()}\b", t) is not None for t in titles),
                                            -len(w), w))

    for p in CATALOG.implemented():
        page = _html_page(p.notebook)
        text = re.sub(r"<[^>]+>", " ", (html_dir / page).read_text(encoding="utf-8")).lower()
        for w in by_rarity(p.title):
            if re.search(rf"\b{w.lower()}\b", text):
                return w, page, p.id
    p = CATALOG.papers[0]
    return by_rarity(p.title)[0], f"book/parts/{p.part}.html", p.id


def test_search_finds_a_paper_by_a_word_of_its_title(browser, server, html_dir, report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    word, target, paper_id = _search_word_and_page(html_dir)
    browser.get(f"{server.base}search.html?q={word}")
    # Sphinx adds the results one by one, then writes "Search finished, found N page(s)" (or "did not match").
    WebDriverWait(browser, 30).until(
        lambda d: re.search(r"Search finished|did not match", d.find_element(By.ID, "search-results").text))
    hrefs = [a.get_attribute("href").split("?")[0].split("#")[0]
             for a in browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")]
    report["notes"].append(f"search: '{word}' (from the title of {paper_id}) found {len(hrefs)} pages, {target} among them")
    assert any(h.endswith(target) for h in hrefs), f"searching {word!r} did not return {target}: {hrefs}"


def _screenshot(driver, path: Path, report: dict, full_page: bool = False) -> None:
    if full_page:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        width = driver.execute_script("return document.documentElement.clientWidth")
        import base64

        data = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 12000), "scale": 1}})
        path.write_bytes(base64.b64decode(data["data"]))
    else:
        driver.save_screenshot(str(path))
    report["screenshots"].append(str(path))


def test_dashboard_is_usable(browser, visitor, shots_dir, report):
    from selenium.webdriver.common.by import By

    from medrepro.report import load_records

    smoke = load_records("smoke")  # the records the dashboard was generated from
    visitor.visit("book/dashboard.html", fresh=True)
    tables = browser.find_elements(By.CSS_SELECTOR, "#reproduction-dashboard table")
    assert len(tables) == len(CATALOG.parts), "one table per part"
    rows = browser.find_elements(By.CSS_SELECTOR, "#reproduction-dashboard table tbody tr")
    assert len(rows) == len(CATALOG.papers), "one row per paper"
    for row, paper in zip(rows, [p for part in CATALOG.parts for p in CATALOG.in_part(part.id)]):
        cells = row.find_elements(By.TAG_NAME, "td")
        assert cells[0].text == str(paper.n) and paper.id in cells[1].text
        badge = cells[2].find_elements(By.CSS_SELECTOR, ".sd-badge")
        assert badge and badge[0].text == paper.status, f"{paper.id}: status badge"
        links = cells[1].find_elements(By.TAG_NAME, "a")
        if paper.implemented:
            assert links and links[0].get_attribute("href").endswith(_html_page(paper.notebook)), paper.id
            claims = cells[3].text
            if paper.id not in smoke:
                assert claims == "—", f"{paper.id}: claims {claims!r}"
            elif smoke[paper.id].get("no_r_reason"):
                # no R claim at all, or R claims that all hold by construction of the simulator
                has_r = any(c["kind"] == "R" for c in smoke[paper.id]["claims"])
                prefix = "every R by construction: " if has_r else "no R: "
                assert claims.startswith(prefix) and "V " in claims, f"{paper.id}: claims {claims!r}"
            else:
                assert claims.startswith("R "), f"{paper.id}: claims {claims!r}"
        else:
            assert not links
    _screenshot(browser, shots_dir / "dashboard.png", report)
    _screenshot(browser, shots_dir / "dashboard-full.png", report, full_page=True)

    # Sorting: the first table's "#" header sorts descending on the second click.
    first = tables[0]
    header = first.find_element(By.CSS_SELECTOR, "thead th")
    assert header.get_attribute("role") == "button", "dashboard script did not run"
    header.click()
    header.click()
    numbers = [int(r.find_element(By.TAG_NAME, "td").text) for r in first.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert numbers == sorted(numbers, reverse=True) and header.get_attribute("aria-sort") == "descending"
    # The switch hides the planned papers.
    browser.find_element(By.ID, "medrepro-hide-planned").click()
    visible = [r for r in browser.find_elements(By.CSS_SELECTOR, "#reproduction-dashboard tbody tr") if r.is_displayed()]
    assert len(visible) == len(CATALOG.implemented())
    visitor.cache.pop("book/dashboard.html", None)  # the page was changed by the clicks


def test_screenshot_of_a_notebook_page(browser, visitor, shots_dir, report):
    """A notebook page (or, while no notebook exists, the intro with its equation) for review."""
    page = NOTEBOOK_PAGES[0] if NOTEBOOK_PAGES else "book/intro.html"
    info = visitor.visit(page, fresh=True)
    if not NOTEBOOK_PAGES:
        report["notes"].append("no notebook page yet (none implemented in papers.yaml): screenshot of the intro")
    name = Path(page).stem
    _screenshot(browser, shots_dir / f"page-{name}.png", report)
    _screenshot(browser, shots_dir / f"page-{name}-full.png", report, full_page=True)
    if NOTEBOOK_PAGES:
        assert info["images"], f"{page}: a notebook page without any figure?"


# A page with an ipywidgets view and no widget script: the fallback must show the static figure and a note.
_PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
_WIDGET_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>widget fallback</title>
<link rel="icon" href="data:,"><script src="medrepro-widgets.js"></script></head><body><main>
<script type="application/vnd.jupyter.widget-view+json">{"version_major": 2, "version_minor": 0, "model_id": "box"}</script>
<script type="application/vnd.jupyter.widget-state+json">{"version_major": 2, "version_minor": 0, "state": {
 "box": {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls", "state": {"children": ["IPY_MODEL_out"]}},
 "out": {"model_name": "OutputModel", "model_module": "@jupyter-widgets/output", "state": {"outputs": [
   {"output_type": "display_data", "data": {"image/png": "%s", "text/plain": "<Figure>"}}]}}}}</script>
</main></body></html>""" % _PNG_1PX


def test_widget_falls_back_to_its_static_image(browser, html_dir, tmp_path_factory, serve):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    www = tmp_path_factory.mktemp("widget-page")
    shutil.copy(html_dir / "_static" / "medrepro-widgets.js", www / "medrepro-widgets.js")
    (www / "index.html").write_text(_WIDGET_PAGE, encoding="utf-8")
    srv = serve(www)
    browser.get(srv.base + "index.html")
    box = WebDriverWait(browser, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".medrepro-widget-fallback"))
    assert "could not be loaded" in box[0].text
    img = box[0].find_element(By.TAG_NAME, "img")
    assert browser.execute_script("return arguments[0].naturalWidth", img) > 0
    assert srv.failed() == []
