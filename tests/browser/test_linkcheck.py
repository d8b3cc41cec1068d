"""Sphinx's link check of the staged book, internal links only: external links are listed, never fetched.

``_config.yml`` sets ``linkcheck_ignore`` for every http(s) and mailto URI, so the builder marks them
``ignored`` without a request; any other status for them would mean a fetch, and fails. Internal links must
not be ``broken``. The list of external links is written to ``_build/linkcheck/external-links.txt``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("MEDREPRO_BUILD_DIR", ROOT / "_build"))
SITE = BUILD_DIR / "site"
OUT = BUILD_DIR / "linkcheck"


def test_internal_links_pass_linkcheck():
    if not (SITE / "_toc.yml").is_file():
        pytest.fail(f"no staged book at {SITE}: run `make book` (or `medrepro book`) first")
    jb = Path(sys.executable).with_name("jupyter-book")
    # jupyter-book writes the linkcheck output into <site>/_build/html (not the published _build/html).
    result = SITE / "_build" / "html" / "output.json"
    result.unlink(missing_ok=True)
    proc = subprocess.run([str(jb), "build", str(SITE), "--builder", "linkcheck"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert result.is_file(), "linkcheck wrote no output.json"
    entries = [json.loads(line) for line in result.read_text(encoding="utf-8").splitlines() if line.strip()]
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copy(result, OUT / "output.json")
    external = sorted({e["uri"] for e in entries if e["uri"].startswith(("http:", "https:", "mailto:"))})
    (OUT / "external-links.txt").write_text("".join(f"{u}\n" for u in external), encoding="utf-8")
    fetched = [e for e in entries if e["uri"].startswith(("http:", "https:")) and e["status"] != "ignored"]
    assert fetched == [], f"external links were checked over the network: {fetched[:5]}"
    broken = [f"{e['filename']}:{e['lineno']} {e['uri']} ({e['status']}: {e['info']})"
              for e in entries if e["status"] not in ("ignored", "working", "unchecked", "redirected")]
    assert broken == [], "broken internal links:\n" + "\n".join(broken)
