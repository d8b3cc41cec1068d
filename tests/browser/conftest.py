"""Browser test of the built book: serve ``_build/html`` on localhost and drive Debian's headless Chromium.

Run it with ``make browser-test`` after ``make book``. In the unit-test run (``pytest tests``) these tests are
skipped with a message, because the book is built after that run. Without Chromium and ChromeDriver they are
skipped with a message that says so: never silently.

Selenium is pointed at ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``MEDREPRO_CHROMIUM`` and
``MEDREPRO_CHROMEDRIVER`` override them); ``SE_OFFLINE`` keeps selenium-manager from downloading anything.
"""
from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("MEDREPRO_BUILD_DIR", ROOT / "_build"))  # another built book, to try the test
HTML_DIR = BUILD_DIR / "html"
SHOTS_DIR = BUILD_DIR / "screenshots"
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("MEDREPRO_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MEDREPRO_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1400,1000"]
INSTALL_HINT = "apt-get install -y chromium chromium-driver (Debian; .ci/run does this)"

# Filled in by the tests, printed at the end of the run.
REPORT: dict[str, list[str]] = {"math_typeset": [], "math_not_applicable": [], "external_links": [],
                                "screenshots": [], "notes": []}


def _explicitly_selected(config: pytest.Config) -> bool:
    if os.environ.get("MEDREPRO_BROWSER_TEST") == "1":
        return True
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        p = (base / arg.split("::")[0]).resolve()
        if p == HERE or HERE in p.parents:
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _explicitly_selected(config):
        return
    skip = pytest.mark.skip(reason="browser test of the built book: run `make browser-test` after `make book` "
                                   "(not part of the unit-test run)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if not any(REPORT.values()):
        return
    tr = terminalreporter
    tr.section("browser test of the book")
    if REPORT["math_typeset"]:
        tr.write_line(f"math typeset on: {', '.join(REPORT['math_typeset'])}")
    if REPORT["math_not_applicable"]:
        tr.write_line(f"math check not applicable (no math on the page): {', '.join(REPORT['math_not_applicable'])}")
    ext = sorted(set(REPORT["external_links"]))
    if ext:
        tr.write_line(f"{len(ext)} external links listed, not fetched (see _build/linkcheck/external-links.txt)")
    for line in REPORT["notes"]:
        tr.write_line(line)
    for shot in REPORT["screenshots"]:
        tr.write_line(f"screenshot: {shot}")


# --- the built site, served on localhost ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def html_dir() -> Path:
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(f"no built book at {HTML_DIR}: run `make book` (or `medrepro book`) first")
    return HTML_DIR


class _Server:
    def __init__(self, directory: Path):
        self.requests: list[tuple[str, int]] = []
        lock = threading.Lock()
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):  # noqa: ARG002
                try:
                    status = int(code)  # an HTTPStatus or an int
                except (TypeError, ValueError):
                    status = 0
                with lock:
                    log.append((self.path, status))

            def log_message(self, *args):  # keep the test output clean
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):  # a browser that drops a connection is no error
                import sys

                if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def failed(self, since: int = 0) -> list[tuple[str, int]]:
        return [(p, c) for p, c in self.requests[since:] if c >= 400]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def server(html_dir):
    srv = _Server(html_dir)
    yield srv
    srv.close()


# --- Chromium -----------------------------------------------------------------------------------------------

def _chromium_problem() -> str | None:
    for exe, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(exe).is_file() and os.access(exe, os.X_OK)):
            return f"{exe} not found (Debian package {pkg})"
    try:
        out = subprocess.run([CHROMEDRIVER, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{CHROMEDRIVER} does not run: {exc}"
    if out.returncode != 0:
        return f"{CHROMEDRIVER} --version failed: {out.stderr.strip()[:300]}"
    return None


@pytest.fixture(scope="session")
def browser():
    problem = _chromium_problem()
    if problem:
        pytest.skip(f"BROWSER TEST NOT RUN — Chromium is not available: {problem}. Install it with {INSTALL_HINT}.")
    # selenium-manager must never try to download a browser or a driver: both paths are given, and offline.
    os.environ["SE_OFFLINE"] = "true"
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="medrepro-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


# --- visiting a page once and recording everything the tests check ----------------------------------------

_COLLECT_JS = r"""
const done = arguments[arguments.length - 1];
const sleep = ms => new Promise(r => setTimeout(r, ms));
(async () => {
  // MathJax: wait until it has typeset the page (its startup promise), when the page loads it.
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) {}
  }
  // Widgets: wait until each view has rendered or its fallback is shown (at most 10 s).
  const views = () => Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
  const settled = v => v.getAttribute('data-medrepro-fallback') ||
      (v.previousElementSibling && v.previousElementSibling.classList.contains('widget-subarea') &&
       v.previousElementSibling.childElementCount > 0);
  for (let t = 0; t < 100 && !views().every(settled); t++) await sleep(100);
  // Images: load lazy ones too, then wait until every one has finished (at most 10 s).
  const imgs = Array.from(document.images);
  imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  for (let t = 0; t < 100 && !imgs.every(i => i.complete); t++) await sleep(100);
  const textOf = el => {  // visible text without code blocks
    const c = el.cloneNode(true);
    c.querySelectorAll('pre, code, script, style, .highlight').forEach(n => n.remove());
    return c.innerText || c.textContent || '';
  };
  const main = document.querySelector('main') || document.body;
  const mathEls = Array.from(document.querySelectorAll('main .math, main span.math, main div.math'));
  const h1 = document.querySelector('main h1');
  const sidebar = document.querySelector('.bd-sidebar-primary');
  done({
    url: location.href,
    title: document.title,
    h1: h1 ? h1.textContent.replace(/#\s*$/, '').replace(/\u00b6/g, '').trim() : null,
    images: imgs.map(i => ({src: i.currentSrc || i.src, complete: i.complete, w: i.naturalWidth})),
    math: {
      elements: mathEls.length,
      typeset: document.querySelectorAll('main mjx-container').length,
      errors: document.querySelectorAll('main mjx-merror, main [data-mjx-error]').length,
      raw: mathEls.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 80)),
      mathjax: !!(window.MathJax && MathJax.version),
      version: window.MathJax && MathJax.version || null,
    },
    rawDollars: (textOf(main).match(/\$\$/g) || []).length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => ({
      raw: a.getAttribute('href'), abs: a.href,
      sidebar: !!(sidebar && sidebar.contains(a)),
      inMain: main.contains(a),
    })),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id)
      .concat(Array.from(document.querySelectorAll('a[name]')).map(e => e.getAttribute('name'))),
    widgets: views().map(v => v.getAttribute('data-medrepro-fallback') ? 'fallback' : 'rendered'),
  });
})();
"""


def network_events(driver) -> list[dict]:
    """The Chrome DevTools network events logged since the last call."""
    out = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method", "").startswith("Network."):
            out.append(msg)
    return out


class Visitor:
    """Loads each page once and records what the checks need."""

    def __init__(self, driver, server: _Server, html_dir: Path):
        self.driver, self.server, self.html_dir = driver, server, html_dir
        self.cache: dict[str, dict] = {}

    def visit(self, page: str, fresh: bool = False) -> dict:
        """Load ``page`` (relative to the site root) and record it; ``fresh`` loads it again, to interact."""
        if page in self.cache and not fresh:
            return self.cache[page]
        d = self.driver
        network_events(d)  # drop older events
        d.get_log("browser")
        since = len(self.server.requests)
        t0 = time.monotonic()
        d.get(self.server.base + page)
        info = d.execute_async_script(_COLLECT_JS)
        info["seconds"] = time.monotonic() - t0
        time.sleep(0.1)  # let the last responses reach the log
        events = network_events(d)
        requests = {e["params"]["requestId"]: e["params"]["request"]["url"]
                    for e in events if e["method"] == "Network.requestWillBeSent"}
        info["requested"] = sorted(set(requests.values()))
        info["http_errors"] = sorted({(e["params"]["response"]["url"], e["params"]["response"]["status"])
                                      for e in events if e["method"] == "Network.responseReceived"
                                      and e["params"]["response"]["status"] >= 400})
        info["load_failures"] = sorted({(requests.get(e["params"]["requestId"], "?"), e["params"].get("errorText", ""))
                                        for e in events if e["method"] == "Network.loadingFailed"
                                        and not e["params"].get("canceled")})
        info["server_errors"] = self.server.failed(since)
        # Uncaught exceptions only: console.error() notes (the theme's "invalid theme mode" on a fresh profile)
        # are not failures, and failed loads are checked from the network events above.
        info["console_errors"] = [m["message"] for m in d.get_log("browser")
                                  if m.get("level") == "SEVERE" and "Uncaught" in m.get("message", "")]
        self.cache[page] = info
        return info

    def local_path(self, url: str) -> tuple[Path | None, str]:
        """The file a same-site URL points at (``None`` for another site), and its fragment."""
        parts = urlsplit(url)
        base = urlsplit(self.server.base)
        if parts.scheme not in ("http", "https") or parts.netloc != base.netloc:
            return None, parts.fragment
        path = unquote(parts.path).lstrip("/")
        target = self.html_dir / path
        if path == "" or target.is_dir():
            target = target / "index.html"
        return target, unquote(parts.fragment)


@pytest.fixture(scope="session")
def visitor(browser, server, html_dir) -> Visitor:
    return Visitor(browser, server, html_dir)


@pytest.fixture(scope="session")
def report() -> dict[str, list[str]]:
    """What the run found, printed at its end (math pages, external links, screenshots)."""
    return REPORT


@pytest.fixture
def serve():
    """Serve another folder on localhost: ``serve(folder)`` returns a server with ``.base`` and ``.failed()``."""
    servers = []

    def _serve(folder: Path) -> _Server:
        servers.append(_Server(folder))
        return servers[-1]

    yield _serve
    for s in servers:
        s.close()


@pytest.fixture(scope="session")
def shots_dir() -> Path:
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SHOTS_DIR
