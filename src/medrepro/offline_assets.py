"""Make the built book work without the internet: serve MathJax (and the widget scripts) from the site itself.

Sphinx is configured (``_config.yml``) to load MathJax from ``_static/mathjax/tex-mml-chtml.js`` and the
ipywidgets scripts from ``_static/widgets/``, paths relative to the built site instead of a CDN. After the
HTML build, :func:`make_offline` puts those files there. They come from pinned **npm registry** packages,
fetched with ``npm pack`` (Node.js's own client; npm's cache makes later builds offline) into
``_build/cache/npm`` and checked against the sha512 integrity pinned below before anything is unpacked:

* ``mathjax@3.2.2`` (Apache-2.0): the ``es5`` folder, without the bundles the book does not load;
* ``requirejs@2.3.4`` (MIT) and ``@jupyter-widgets/html-manager@1.0.6`` (BSD-3-Clause), the versions
  myst-nb loads from a CDN by default; only copied when a page has widget state.

Set ``MEDREPRO_MATHJAX_DIR`` to an unpacked MathJax 3 ``es5`` folder to skip npm for MathJax (for a machine
without Node.js). Whatever is missing makes the build fail with a message that says how to fix it. Last,
every page is checked: no script, stylesheet, image or frame may come from another host, and every local
file a page loads must exist.
"""
from __future__ import annotations

import base64
import hashlib
import html.parser
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class OfflineAssetError(RuntimeError):
    """A file the offline book needs could not be provided, or a page still loads something remote."""


@dataclass(frozen=True)
class NpmPackage:
    """A pinned npm package: ``spec`` for ``npm pack`` and the ``integrity`` the registry publishes."""

    name: str
    version: str
    integrity: str  # "sha512-<base64>", as `npm view NAME@VERSION dist.integrity` prints it
    licence: str

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def tarball_name(self) -> str:  # what `npm pack` writes: @scope/name -> scope-name-version.tgz
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}.tgz"


MATHJAX = NpmPackage("mathjax", "3.2.2",
                     "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
                     "Apache-2.0")
REQUIREJS = NpmPackage("requirejs", "2.3.4",
                       "sha512-qPD5gRrj6kGQ0ZySAJgqbArkaDqPMbQIT0zSZDkIv1mfA17w/tR2Faq5l2qqRf2CdQx6FWln9nUrgd2UDzb19A==",
                       "MIT")
HTML_MANAGER = NpmPackage("@jupyter-widgets/html-manager", "1.0.6",
                          "sha512-+Mn+Ra8wyIHrYaUpfmf9A3dsLkt/NuwzPQN8sthdxBD35VV5cOJbpmgMhNR27n/rmP3mKyEe0PWCJrtZrXTXDQ==",
                          "BSD-3-Clause")

#: Where the pages expect the files, relative to the site root (must match _config.yml).
MATHJAX_DIR = "_static/mathjax"
MATHJAX_ENTRY = "tex-mml-chtml.js"
WIDGETS_DIR = "_static/widgets"
# es5 bundles the book never loads (SVG output, other combined components, the Node entry point).
_MATHJAX_SKIP = {"tex-svg.js", "tex-svg-full.js", "tex-mml-svg.js", "mml-svg.js", "mml-chtml.js", "tex-chtml.js",
                 "tex-chtml-full.js", "tex-chtml-full-speech.js", "node-main.js", "output/svg.js", "output/svg"}


def cache_dir(html_dir: Path) -> Path:
    """``$MEDREPRO_ASSET_CACHE`` or ``_build/cache/npm`` beside the built ``_build/html``."""
    env = os.environ.get("MEDREPRO_ASSET_CACHE")
    return Path(env) if env else Path(html_dir).resolve().parent / "cache" / "npm"


def sri(path: Path) -> str:
    """The Subresource-Integrity string (``sha512-<base64>``) of a file, as npm records it."""
    h = hashlib.sha512()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha512-" + base64.b64encode(h.digest()).decode("ascii")


def fetch_npm(pkg: NpmPackage, cache: Path, npm: str | None = None) -> Path:
    """The verified tarball of ``pkg`` in ``cache``, running ``npm pack`` when it is not there yet."""
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / pkg.tarball_name
    if not tgz.is_file():
        npm = npm or shutil.which("npm")
        if npm is None:
            raise OfflineAssetError(
                f"the book serves {pkg.spec} ({pkg.licence}) from the site itself, but `npm` is not installed to "
                f"fetch it from the npm registry. Install Node.js/npm (Debian: apt-get install -y npm), or put the "
                f"tarball at {tgz} (`npm pack {pkg.spec}` on another machine)"
                + (", or set MEDREPRO_MATHJAX_DIR to an unpacked MathJax 3 es5 folder" if pkg is MATHJAX else ""))
        cmd = [npm, "pack", pkg.spec, "--pack-destination", str(cache), "--prefer-offline", "--silent"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as exc:
            raise OfflineAssetError(f"`{' '.join(cmd)}` did not finish in 10 minutes; is the npm registry reachable?") from exc
        if proc.returncode != 0 or not tgz.is_file():
            raise OfflineAssetError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}); the book cannot serve "
                                    f"{pkg.spec} offline without it:\n{proc.stderr.strip()[-2000:]}")
    got = sri(tgz)
    if got != pkg.integrity:
        tgz.unlink()
        raise OfflineAssetError(f"{tgz.name}: integrity {got} does not match the pinned {pkg.integrity}; "
                                "the cached file was removed, build again to fetch it anew")
    return tgz


def _extract(tgz: Path, prefix: str, dest: Path, skip: frozenset[str] | set[str] = frozenset(),
             skip_suffixes: tuple[str, ...] = ()) -> int:
    """Copy the regular files under ``prefix`` in an npm tarball into ``dest``; returns how many."""
    n = 0
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            rel = member.name[len(prefix):]
            parts = rel.split("/")
            if ".." in parts or rel.startswith("/") or not rel:
                raise OfflineAssetError(f"{tgz.name}: unsafe path {member.name!r}")
            if any("/".join(parts[: i + 1]) in skip for i in range(len(parts))) or rel.endswith(skip_suffixes):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:  # type: ignore[union-attr]
                shutil.copyfileobj(src, out)
            n += 1
    return n


def install_mathjax(html_dir: Path, cache: Path | None = None) -> Path:
    """Put MathJax 3's ``es5`` files in ``<html_dir>/_static/mathjax``; returns the entry script."""
    dest = Path(html_dir) / MATHJAX_DIR
    if dest.exists():
        shutil.rmtree(dest)
    local = os.environ.get("MEDREPRO_MATHJAX_DIR")
    if local:
        src = Path(local)
        if not (src / MATHJAX_ENTRY).is_file():
            raise OfflineAssetError(f"MEDREPRO_MATHJAX_DIR={local} has no {MATHJAX_ENTRY}: point it at MathJax 3's es5 folder")
        shutil.copytree(src, dest)
    else:
        tgz = fetch_npm(MATHJAX, cache or cache_dir(html_dir))
        _extract(tgz, "package/es5/", dest, skip=_MATHJAX_SKIP, skip_suffixes=(".map",))
        with tarfile.open(tgz, "r:gz") as tar:  # keep the licence beside the files it covers
            dest.joinpath("LICENSE").write_bytes(tar.extractfile("package/LICENSE").read())  # type: ignore[union-attr]
    entry = dest / MATHJAX_ENTRY
    if not entry.is_file():
        raise OfflineAssetError(f"{entry} is missing after unpacking MathJax")
    return entry


def install_widgets(html_dir: Path, cache: Path | None = None) -> Path:
    """Put RequireJS and the ipywidgets HTML manager in ``<html_dir>/_static/widgets``."""
    cache = cache or cache_dir(html_dir)
    dest = Path(html_dir) / WIDGETS_DIR
    if dest.exists():
        shutil.rmtree(dest)
    _extract(fetch_npm(REQUIREJS, cache), "package/", dest, skip={"bin", "README.md", "package.json"})
    hm = dest / "html-manager"
    _extract(fetch_npm(HTML_MANAGER, cache), "package/dist/", hm, skip_suffixes=(".map",))
    _extract(fetch_npm(HTML_MANAGER, cache), "package/", hm, skip={"dist", "lib", "css", "package.json"})
    (dest / "LICENSES.txt").write_text(
        f"require.js: {REQUIREJS.spec}, {REQUIREJS.licence} (https://github.com/requirejs/requirejs)\n"
        f"html-manager/: {HTML_MANAGER.spec}, {HTML_MANAGER.licence} (see html-manager/LICENSE)\n", encoding="utf-8")
    return dest


# --- checking the pages ------------------------------------------------------------------------------------

class _Refs(html.parser.HTMLParser):
    """Collects the URLs a page *loads* (scripts, stylesheets, icons, images, frames, media)."""

    LOADING_LINK_RELS = {"stylesheet", "icon", "shortcut", "preload", "modulepreload", "manifest", "apple-touch-icon"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[tuple[str, str]] = []  # (tag, url)
        self.widget_state = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "script":
            if a.get("src"):
                self.loads.append((tag, a["src"]))
            if a.get("type") == "application/vnd.jupyter.widget-state+json":
                self.widget_state = True
        elif tag == "link":
            rels = set(a.get("rel", "").lower().split())
            if rels & self.LOADING_LINK_RELS and a.get("href"):
                self.loads.append((tag, a["href"]))
        elif tag in ("img", "iframe", "embed", "audio", "video", "source", "track") and a.get("src"):
            self.loads.append((tag, a["src"]))
        elif tag == "object" and a.get("data"):
            self.loads.append((tag, a["data"]))


def page_loads(page: Path) -> tuple[list[tuple[str, str]], bool]:
    """The (tag, url) pairs a page loads, and whether it embeds ipywidgets state."""
    p = _Refs()
    p.feed(page.read_text(encoding="utf-8", errors="replace"))
    return p.loads, p.widget_state


def _is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) or parts.scheme not in ("", "data", "blob", "about", "javascript")


def _local_target(html_dir: Path, page: Path, url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme or not parts.path:
        return None
    rel = page.parent.relative_to(html_dir).as_posix()
    joined = posixpath.normpath(posixpath.join(rel, unquote(parts.path)))
    return html_dir / joined


def check_pages(html_dir: Path) -> list[str]:
    """Problems that would break a page offline: remote loads, and local loads of files that do not exist."""
    html_dir = Path(html_dir)
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.relative_to(html_dir).parts or "_sources" in page.relative_to(html_dir).parts:
            continue
        loads, _ = page_loads(page)
        name = page.relative_to(html_dir).as_posix()
        for tag, url in loads:
            if _is_remote(url):
                problems.append(f"{name}: <{tag}> loads {url} from the internet")
                continue
            target = _local_target(html_dir, page, url)
            if target is not None and not target.is_file():
                problems.append(f"{name}: <{tag}> loads {url}, which is not in the built site")
    return problems


_INLINE_SCRIPT = re.compile(r"<script>(?P<body>[^<]*)</script>\n?")


def dedupe_inline_scripts(html_dir: Path) -> int:
    """Drop the second copy of an identical inline ``<script>`` in a page; returns how many were dropped.

    jupyter-book 1.x emits sphinx-thebe's and sphinx-togglebutton's inline configuration twice in every page;
    the second ``const THEBE_JS_URL = ...`` throws "Identifier has already been declared" in the browser.
    """
    dropped = 0
    for page in Path(html_dir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        seen: set[str] = set()

        def keep_first(m: re.Match) -> str:
            nonlocal dropped
            body = m.group("body").strip()
            if body and body in seen:
                dropped += 1
                return ""
            seen.add(body)
            return m.group(0)

        new = _INLINE_SCRIPT.sub(keep_first, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
    return dropped


def add_missing_favicon(html_dir: Path) -> int:
    """Point pages without an icon link (the ``index.html`` redirect) at the site's favicon.

    Without one, a browser asks the server for ``/favicon.ico``, which does not exist. Returns how many
    pages were changed; does nothing when the build has no ``_static/favicon.*``.
    """
    html_dir = Path(html_dir)
    icons = sorted((html_dir / "_static").glob("favicon.*"))
    if not icons:
        return 0
    changed = 0
    for page in html_dir.rglob("*.html"):
        rel = page.relative_to(html_dir)
        if rel.parts[0] in ("_static", "_sources"):
            continue
        text = page.read_text(encoding="utf-8")
        if re.search(r'<link[^>]+rel="(shortcut )?icon"', text):
            continue
        href = posixpath.relpath(f"_static/{icons[0].name}", rel.parent.as_posix() or ".")
        link = f'<link rel="icon" href="{href}" />'
        # A bare redirect page has no <head>: a leading <link> goes into the implied head.
        text = text.replace("<head>", f"<head>\n{link}", 1) if "<head>" in text else f"{link}\n{text}"
        page.write_text(text, encoding="utf-8")
        changed += 1
    return changed


def make_offline(html_dir: Path, cache: Path | None = None) -> dict[str, object]:
    """Serve MathJax and the widget scripts from ``html_dir``; fail when a page would still need the internet.

    Returns a summary: which assets were installed and how many pages use math and widgets.
    """
    html_dir = Path(html_dir)
    pages = [p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts]
    mathjax_ref = f"{MATHJAX_DIR}/{MATHJAX_ENTRY}".split("/", 1)[1]  # "mathjax/tex-mml-chtml.js"
    math_pages, widget_pages = [], []
    for page in pages:
        loads, widgets = page_loads(page)
        if any(urlsplit(u).path.endswith(mathjax_ref) for _, u in loads):
            math_pages.append(page)
        if widgets:
            widget_pages.append(page)
    installed = []
    # MathJax is always installed: the book's intro has math, and a page that typesets nothing costs nothing.
    install_mathjax(html_dir, cache)
    installed.append(MATHJAX.spec)
    if widget_pages:
        install_widgets(html_dir, cache)
        installed += [REQUIREJS.spec, HTML_MANAGER.spec]
    problems = check_pages(html_dir)
    if problems:
        shown = "\n  ".join(problems[:40]) + (f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else "")
        raise OfflineAssetError("the built book would not work offline:\n  " + shown +
                                "\nServe the file from the site (book/_static or medrepro.offline_assets) instead.")
    return {"installed": installed, "math_pages": len(math_pages), "widget_pages": len(widget_pages),
            "pages": len(pages)}
