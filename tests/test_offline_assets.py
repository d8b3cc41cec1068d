"""medrepro.offline_assets: MathJax and the widget scripts served from the built site, checked offline.

Everything here runs on fake npm tarballs made in a temporary folder; nothing reaches a registry.
"""
from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
import yaml

from medrepro import offline_assets as oa

ROOT = Path(__file__).resolve().parents[1]


def _tarball(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _fake_mathjax(folder: Path) -> Path:
    return _tarball(folder / oa.MATHJAX.tarball_name, {
        "package/LICENSE": b"Apache License 2.0",
        "package/es5/tex-mml-chtml.js": b"/* mathjax */",
        "package/es5/input/tex/extensions/cancel.js": b"/* ext */",
        "package/es5/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff": b"font",
        "package/es5/tex-svg.js": b"/* not used */",
        "package/es5/output/svg/fonts/tex.js": b"/* not used */",
        "package/es5/core.js.map": b"{}",
        "package/ts/core.ts": b"// sources are not copied",
    })


def _fake_npm(tmp_path: Path, tarballs: list[Path]) -> str:
    """An `npm` that answers `npm pack SPEC --pack-destination DIR ...` by copying a prepared tarball."""
    src = tmp_path / "npm-src"
    src.mkdir(exist_ok=True)
    for t in tarballs:
        t.rename(src / t.name)
    npm = tmp_path / "npm"
    npm.write_text(f"#!/bin/sh\n# $1=pack $2=spec $3=--pack-destination $4=dir\n"
                   f"echo \"$2\" >> {tmp_path}/npm-calls.txt\n"
                   f"for f in {src}/*.tgz; do cp \"$f\" \"$4/\"; done\n")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    return str(npm)


@pytest.fixture
def pinned_fakes(tmp_path, monkeypatch):
    """Fake MathJax, RequireJS and html-manager tarballs behind a fake npm, with their integrity pinned."""
    made = tmp_path / "made"
    made.mkdir()
    mj = _fake_mathjax(made)
    rq = _tarball(made / oa.REQUIREJS.tarball_name, {"package/require.js": b"var requirejs;",
                                                      "package/bin/r.js": b"", "package/package.json": b"{}"})
    hm = _tarball(made / oa.HTML_MANAGER.tarball_name, {"package/dist/embed-amd.js": b"define();",
                                                         "package/dist/embed-amd.js.map": b"{}",
                                                         "package/dist/abc.woff2": b"font",
                                                         "package/LICENSE": b"BSD-3-Clause",
                                                         "package/lib/index.js": b""})
    for name, tgz in (("MATHJAX", mj), ("REQUIREJS", rq), ("HTML_MANAGER", hm)):
        pkg = getattr(oa, name)
        monkeypatch.setattr(oa, name, oa.NpmPackage(pkg.name, pkg.version, oa.sri(tgz), pkg.licence))
    npm = _fake_npm(tmp_path, [mj, rq, hm])
    monkeypatch.setenv("PATH", f"{Path(npm).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("MEDREPRO_MATHJAX_DIR", raising=False)
    monkeypatch.delenv("MEDREPRO_ASSET_CACHE", raising=False)
    return tmp_path


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    html = tmp_path / "_build" / "html"
    for name, text in pages.items():
        (html / name).parent.mkdir(parents=True, exist_ok=True)
        (html / name).write_text(text, encoding="utf-8")
    (html / "_static").mkdir(exist_ok=True)
    (html / "_static" / "doctools.js").write_text("", encoding="utf-8")
    return html


MATH_PAGE = ('<html><head><script src="../_static/doctools.js"></script>'
             '<script defer="defer" src="../_static/mathjax/tex-mml-chtml.js"></script></head>'
             '<body><span class="math">\\(x\\)</span><a href="https://example.org">out</a>'
             '<img src="data:image/png;base64,AAAA"></body></html>')


def test_sri_and_tarball_names(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(b"abc")
    assert oa.sri(f) == "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
    assert oa.MATHJAX.tarball_name == "mathjax-3.2.2.tgz"
    assert oa.HTML_MANAGER.tarball_name == "jupyter-widgets-html-manager-1.0.6.tgz"
    assert oa.MATHJAX.licence == "Apache-2.0" and oa.MATHJAX.integrity.startswith("sha512-")


def test_make_offline_installs_mathjax_and_checks_pages(pinned_fakes):
    html = _site(pinned_fakes, {"book/intro.html": MATH_PAGE, "index.html": '<meta http-equiv="Refresh">'})
    summary = oa.make_offline(html)
    assert summary["installed"] == [oa.MATHJAX.spec] and summary["math_pages"] == 1
    mj = html / "_static" / "mathjax"
    assert (mj / "tex-mml-chtml.js").is_file() and (mj / "LICENSE").is_file()
    assert (mj / "input/tex/extensions/cancel.js").is_file()
    assert (mj / "output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").is_file()
    assert not (mj / "tex-svg.js").exists() and not (mj / "output/svg").exists() and not (mj / "core.js.map").exists()
    assert not (mj / "ts").exists()
    # The tarball is cached beside the site: a second build does not call npm again.
    cached = pinned_fakes / "_build" / "cache" / "npm" / oa.MATHJAX.tarball_name
    assert cached.is_file()
    oa.make_offline(html)
    assert (pinned_fakes / "npm-calls.txt").read_text().split() == [oa.MATHJAX.spec]


def test_widget_assets_only_for_pages_with_widget_state(pinned_fakes):
    page = MATH_PAGE.replace("</head>", '<script type="application/vnd.jupyter.widget-state+json">{}</script>'
                                       '<script src="../_static/widgets/require.js"></script>'
                                       '<script src="../_static/widgets/html-manager/embed-amd.js"></script></head>')
    html = _site(pinned_fakes, {"notebooks/nb.html": page})
    summary = oa.make_offline(html)
    assert summary["widget_pages"] == 1 and oa.HTML_MANAGER.spec in summary["installed"]
    w = html / "_static" / "widgets"
    assert (w / "require.js").is_file() and (w / "html-manager/embed-amd.js").is_file()
    assert (w / "html-manager/abc.woff2").is_file() and (w / "html-manager/LICENSE").is_file()
    assert not (w / "html-manager/embed-amd.js.map").exists() and not (w / "bin").exists()
    assert "BSD-3-Clause" in (w / "LICENSES.txt").read_text()


def test_a_page_that_loads_from_the_internet_fails_the_build(pinned_fakes):
    bad = MATH_PAGE.replace("</head>", '<script src="https://cdn.example.org/lib.js"></script>'
                                       '<link rel="stylesheet" href="//fonts.example.org/x.css"></head>')
    html = _site(pinned_fakes, {"book/bad.html": bad, "book/missing.html": '<img src="../_images/nope.png">'})
    with pytest.raises(oa.OfflineAssetError) as err:
        oa.make_offline(html)
    msg = str(err.value)
    assert "https://cdn.example.org/lib.js from the internet" in msg
    assert "//fonts.example.org/x.css from the internet" in msg
    assert "../_images/nope.png, which is not in the built site" in msg
    assert "example.org\">out" not in msg  # a plain <a> link is not a load


def test_a_changed_tarball_is_rejected_and_removed(pinned_fakes, monkeypatch):
    cache = pinned_fakes / "cache"
    cache.mkdir()
    _tarball(cache / oa.MATHJAX.tarball_name, {"package/es5/tex-mml-chtml.js": b"tampered"})
    with pytest.raises(oa.OfflineAssetError, match="does not match the pinned"):
        oa.fetch_npm(oa.MATHJAX, cache)
    assert not (cache / oa.MATHJAX.tarball_name).exists()
    assert oa.sri(oa.fetch_npm(oa.MATHJAX, cache)) == oa.MATHJAX.integrity  # fetched anew, verified


def test_without_npm_the_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(oa.shutil, "which", lambda name: None)
    with pytest.raises(oa.OfflineAssetError, match="npm. is not installed.*MEDREPRO_MATHJAX_DIR"):
        oa.fetch_npm(oa.MATHJAX, tmp_path / "cache")


def test_a_failing_npm_is_reported(tmp_path):
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error 404 Not Found' >&2\nexit 1\n")
    npm.chmod(0o755)
    with pytest.raises(oa.OfflineAssetError, match="404 Not Found"):
        oa.fetch_npm(oa.MATHJAX, tmp_path / "cache", npm=str(npm))


def test_mathjax_from_a_local_folder(tmp_path, monkeypatch):
    es5 = tmp_path / "es5"
    es5.mkdir()
    (es5 / "tex-mml-chtml.js").write_text("/* mj */")
    monkeypatch.setenv("MEDREPRO_MATHJAX_DIR", str(es5))
    html = tmp_path / "html"
    html.mkdir()
    assert oa.install_mathjax(html).read_text() == "/* mj */"
    monkeypatch.setenv("MEDREPRO_MATHJAX_DIR", str(tmp_path))
    with pytest.raises(oa.OfflineAssetError, match="es5 folder"):
        oa.install_mathjax(html)


def test_unsafe_tarball_paths_are_refused(tmp_path):
    tgz = _tarball(tmp_path / "x.tgz", {"package/es5/../../evil.js": b"x"})
    with pytest.raises(oa.OfflineAssetError, match="unsafe path"):
        oa._extract(tgz, "package/es5/", tmp_path / "out")


def test_duplicate_inline_scripts_are_dropped(tmp_path):
    page = tmp_path / "p.html"
    page.write_text('<head><script>const A = 1;</script>\n<script src="x.js"></script>\n<script>const A = 1;</script>\n'
                    '<script>var b = 2;</script>\n</head>')
    assert oa.dedupe_inline_scripts(tmp_path) == 1
    text = page.read_text()
    assert text.count("const A = 1;") == 1 and "var b = 2;" in text and 'src="x.js"' in text


def test_pages_without_an_icon_get_the_sites(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "favicon.svg").write_text("<svg/>")
    (tmp_path / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text("<html><head><title>a</title></head></html>")
    (tmp_path / "book" / "b.html").write_text('<html><head><link rel="icon" href="x.png"></head></html>')
    assert oa.add_missing_favicon(tmp_path) == 2
    assert (tmp_path / "index.html").read_text().startswith('<link rel="icon" href="_static/favicon.svg" />')
    assert '<link rel="icon" href="../_static/favicon.svg" />' in (tmp_path / "book" / "a.html").read_text()
    assert "favicon.svg" not in (tmp_path / "book" / "b.html").read_text()


def test_config_points_where_the_assets_are_installed():
    """_config.yml and offline_assets agree on the paths; the self-written static files exist."""
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    assert "_static/" + cfg["mathjax_path"] == f"{oa.MATHJAX_DIR}/{oa.MATHJAX_ENTRY}"
    static = [ROOT / p for p in cfg["html_static_path"]]
    for js in list(cfg["nb_ipywidgets_js"]):
        assert js.startswith("widgets/") or any((s / js).is_file() for s in static), js
    assert list(cfg["nb_ipywidgets_js"])[0] == "widgets/require.js"
    assert list(cfg["nb_ipywidgets_js"])[-1] == "widgets/html-manager/embed-amd.js"
    for f in cfg["html_js_files"] + cfg["html_css_files"]:
        assert any((s / f).is_file() for s in static), f
    assert all(p.startswith("https?://") or p.startswith("mailto") for p in cfg["linkcheck_ignore"])
