"""The Jupyter Book: table of contents, dashboard and part pages generated from papers.yaml and results/.

``medrepro book`` stages a copy of the book sources with the *executed* notebooks in ``_build/site`` and
builds it there (Jupyter Book 1.x, strict), so nothing is executed twice; the HTML lands in ``_build/html``.
"""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .bench import alone_s
from .papers import Catalog, load
from .paths import repo_root
from . import seeds
from .report import load_records


def toc(catalog: Catalog | None = None) -> dict[str, Any]:
    """The ``_toc.yml`` structure: start pages, one part page per part with its notebooks, references."""
    catalog = catalog or load()
    parts: list[dict[str, Any]] = [{"caption": "Start here", "chapters": [
        {"file": "book/how-to-use"}, {"file": "book/dashboard"}, {"file": "book/running-the-collection"}]}]
    for part in catalog.parts:
        chapter: dict[str, Any] = {"file": f"book/parts/{part.id}"}
        nbs = [{"file": g[: -len(".ipynb")]} for g in part.guides]
        nbs += [{"file": p.notebook[: -len(".ipynb")]} for p in catalog.in_part(part.id) if p.notebook]
        if nbs:
            chapter["sections"] = nbs
        parts.append({"caption": part.title, "chapters": [chapter]})
    parts.append({"caption": "Reference", "chapters": [{"file": "book/references"}]})
    return {"format": "jb-book", "root": "book/intro", "parts": parts}


TOC_HEADER = "# Generated from src/medrepro/papers.yaml by `medrepro toc` — do not edit by hand.\n"


def toc_text(catalog: Catalog | None = None) -> str:
    return TOC_HEADER + yaml.safe_dump(toc(catalog), sort_keys=False, allow_unicode=True)


def _claims_cell(rec: dict[str, Any] | None, seed_rec: dict[str, Any] | None = None) -> str:
    """``R 2/2 hold (5 seeds) · V 1/1 · E 2``, with FAILING where an asserted claim failed."""
    if not rec:
        return "—"
    claims = rec.get("claims", [])
    bits = []
    for kind in ("R", "V"):
        cs = [c for c in claims if c["kind"] == kind]
        if not cs:
            continue
        ok = sum(c.get("passed") is True for c in cs)
        bits.append(f"{kind} {ok}/{len(cs)}" + (" hold" if kind == "R" else "") + ("" if ok == len(cs) else " — FAILING"))
    r_claims = [c for c in claims if c["kind"] == "R"]
    if not r_claims or all(c.get("by_construction") for c in r_claims):
        reason = rec.get("no_r_reason") or "reason not given"
        # The dashboard shows the first sentence; the notebook and its record carry the whole reason.
        first = re.split(r"(?<=[.!?])\s", reason.strip(), maxsplit=1)[0]
        bits.insert(0, ("no R: " if not r_claims else "every R by construction: ") + first)
    if seed_rec:
        asserted_fail = {(r["seed"]) for r in seed_rec.get("runs", []) for c in r["claims"]
                         if c["kind"] in ("R", "V") and c.get("passed") is not True}
        n = len(seed_rec.get("runs", []))
        bits.append(f"seeds {n - len(asserted_fail)}/{n} hold")
    else:
        bits.append("no seed record")
    e = [c for c in claims if c["kind"] == "E"]
    if e:
        bits.append(f"E {len(e)} reported")
    return " · ".join(bits)


def _verified_real(full: dict[str, Any]) -> bool:
    """A full record counts as a reproduction on real data only when every dataset was verified."""
    prov = full.get("provenance") or []
    return bool(prov) and not full.get("on_fixture") and all(
        str(p.get("source", "")).startswith("verified") for p in prov)


def _paper_vs_ours(full: dict[str, Any] | None) -> str:
    if not full:
        return "full mode not run yet"
    if full.get("on_fixture"):
        return "full-mode code ran on a fixture only (no real data, nothing to compare)"
    out = []
    for c in full.get("claims", []):
        p = c.get("paper") or {}
        if p.get("value") is not None and c.get("value") is not None:
            out.append(f"{c['statement']}: paper {p['value']} vs ours {c['value']:.3f}")
    if not _verified_real(full):
        srcs = ", ".join(str(p.get("source")) for p in full.get("provenance") or []) or "provenance not recorded"
        return f"not compared: data not verified against the publisher ({srcs})"
    return "; ".join(out) or "no paper number to compare"


def dashboard_markdown(catalog: Catalog | None = None, smoke: dict | None = None, full: dict | None = None,
                       link_prefix: str = "../") -> str:
    """The reproduction dashboard: one row per paper, grouped by part.

    Each part has a labelled section with one table; ``book/_static/medrepro-dashboard.js`` makes the
    tables sortable by any column and adds a "show only papers with a notebook" switch. Status is a
    coloured badge (sphinx-design); the paper's id links to its notebook page.
    """
    badge = {"smoke": "{bdg-success}`smoke`", "full-verified": "{bdg-primary}`full-verified`",
             "planned": "{bdg-muted-line}`planned`"}
    catalog = catalog or load()
    smoke = load_records("smoke") if smoke is None else smoke
    full = load_records("full") if full is None else full
    n_impl = len(catalog.implemented())
    by_part = []
    for part in catalog.parts:
        papers = catalog.in_part(part.id)
        impl = [p for p in papers if p.implemented]
        failing = sum(1 for p in impl if any(c["kind"] in ("R", "V") and c.get("passed") is False
                                             for c in (smoke.get(p.id) or {}).get("claims", [])))
        by_part.append(f"[{part.title.split(' — ')[0]}](#dashboard-{part.id}) {len(impl)}/{len(papers)}"
                       + (f" ({failing} failing)" if failing else ""))
    lines = [
        "---", "html_theme.sidebar_secondary.remove: true", "---", "",  # the tables get the page's full width
        "# Reproduction dashboard", "",
        f"{len(catalog.papers)} papers; {n_impl} with a notebook, {len(catalog.papers) - n_impl} planned. "
        "Generated from `papers.yaml` and the records in `results/` when the book was built.", "",
        f"**Status**: {badge['smoke']} runs offline on simulated data, its R claims hold — *not* the paper's "
        f"numbers · {badge['full-verified']} also ran on the real data · {badge['planned']} no notebook yet · "
        "{bdg-warning-line}`mechanism only` the paper's claims rest on a large language model, a closed model or "
        "web-scale pretraining: the notebook reproduces the mechanism at small scale, not the claims (its part page "
        "says why). "
        "Click a paper's id to open its notebook, a column header to sort.", "",
        "**Notebooks per part**: " + " · ".join(by_part), "",
        ":::{dropdown} How to read the columns",
        "**status** `smoke` means the notebook runs offline on simulated or package-shipped data and its robust (R) "
        "claims hold there — it is *not* a reproduction of the paper's numbers; `full-verified` means the notebook "
        "also ran on the real data and its record is committed under `results/full/`; `planned` means there is no "
        "notebook yet. **Claims**: R = claims on the paper's own contribution, asserted in the run (passed/total, "
        "marked FAILING when one fails); V = verification of the implementation (equivalence to a reference, "
        "identities, flattened losses), asserted but never counted as reproducing the paper; seeds = on how many "
        "of the committed seed runs (`results/seeds/`) every R and V claim held; E = exploratory claims, reported "
        "with an interval and never asserted. A notebook without an R claim says why. **Smoke s**: time of the smoke "
        "run including kernel start, as CPU seconds of the kernel and its workers (the time alone on the budget's two "
        "cores; the book's build runs two notebooks at once, which can double the wall time; see `make bench`). **Peak MB**: its peak memory. **Paper vs ours**: the paper's number beside "
        "ours from the committed full-mode record, shown only when the record ran on real data verified against "
        "the publisher's checksums or archive; other full runs are labelled.",
        ":::", "",
    ]
    for part in catalog.parts:
        lines += [f"(dashboard-{part.id})=", f"## {part.title}", "",
                  "| # | paper | status | claims (smoke) | smoke s | peak MB | paper vs ours (full) |",
                  "|---|---|---|---|---|---|---|"]
        for p in catalog.in_part(part.id):
            title = p.title.replace("|", "\\|")
            name = f"[{p.id}]({link_prefix}{p.notebook})" if p.notebook else p.id
            s = smoke.get(p.id)
            alone = alone_s(s) if s else None
            wall = f"{alone:.1f}" if alone is not None else "—"
            mem = f"{s['peak_memory_mb']:.0f}" if s else "—"
            status = badge.get(p.status, f"`{p.status}`")
            if p.mechanism_only:
                status += " {bdg-warning-line}`mechanism only`"
            lines.append(f"| {p.n} | {name} — {title} | {status} | {_claims_cell(s, seeds.load(p.id))} | {wall} | {mem} | "
                         f"{_paper_vs_ours(full.get(p.id)) if p.implemented else '—'} |")
        lines.append("")
    return "\n".join(lines)


def part_page(part_id: str, root: Path, catalog: Catalog | None = None) -> str:
    """A part's intro page: the hand-written text in ``book/parts/<part>.md`` plus the table of its papers."""
    catalog = catalog or load()
    text = (root / "book" / "parts" / f"{part_id}.md").read_text(encoding="utf-8")
    rows = ["", "## Papers in this part", "", "| # | paper | status |", "|---|---|---|"]
    for p in catalog.in_part(part_id):
        link = f"[{p.title}](../../{p.notebook})" if p.notebook else p.title
        cite = f" — {p.short_citation()}" if p.short_citation() else ""
        status = f"`{p.status}`" + (f" · mechanism only: {p.mechanism_only}" if p.mechanism_only else "")
        rows.append(f"| {p.n} | {link}{cite} | {status} |")
    return text.rstrip() + "\n" + "\n".join(rows) + "\n"


def stage(root: Path | None = None, executed: bool = True) -> Path:
    """Copy the book sources into ``_build/site`` with executed notebooks and generated pages."""
    root = root or repo_root() or Path.cwd()
    site = root / "_build" / "site"
    if site.exists():
        shutil.rmtree(site)
    (site / "book").mkdir(parents=True)
    catalog = load()
    shutil.copy(root / "_config.yml", site / "_config.yml")
    (site / "_toc.yml").write_text(toc_text(catalog), encoding="utf-8")
    shutil.copytree(root / "book", site / "book", dirs_exist_ok=True)
    for part in catalog.parts:
        (site / "book" / "parts" / f"{part.id}.md").write_text(part_page(part.id, root, catalog), encoding="utf-8")
    (site / "book" / "dashboard.md").write_text(dashboard_markdown(catalog), encoding="utf-8")
    from .campaign import render_page  # the GPU-hours table, from papers.yaml

    page = site / "book" / "running-the-collection.md"
    page.write_text(render_page(page.read_text(encoding="utf-8"), catalog), encoding="utf-8")
    for nb in [p.notebook for p in catalog.implemented()] + catalog.guides():
        src = (root / "_build" / "executed" / nb) if executed else (root / nb)
        if not src.is_file():
            raise FileNotFoundError(f"no executed copy of {nb} at {src}; run `medrepro run --all` first")
        dst = site / nb
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    return site


def build(root: Path | None = None, strict: bool = True) -> Path:
    """Stage and build the HTML book into ``_build/html``; returns that folder."""
    root = root or repo_root() or Path.cwd()
    site = stage(root)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(site), "--builder", "html"]
    if strict:
        cmd += ["-W", "--keep-going"]
    proc = subprocess.run(cmd, cwd=root)
    if proc.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed (exit {proc.returncode}); see the warnings above")
    out = root / "_build" / "html"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(site / "_build" / "html", out)
    _post_process(out)
    return out


def _post_process(html_dir: Path) -> None:
    """Hooks that run on the built HTML; kept small and explicit.

    - drop duplicated inline scripts (a jupyter-book 1.x bug that throws a JavaScript error on every page);
    - give the ``index.html`` redirect the site's icon (else browsers ask for a missing ``/favicon.ico``);
    - serve MathJax and the widget scripts from the site itself and check that no page needs the internet.
    """
    from . import offline_assets

    offline_assets.dedupe_inline_scripts(html_dir)
    offline_assets.add_missing_favicon(html_dir)
    summary = offline_assets.make_offline(html_dir)
    print(f"offline book: {', '.join(summary['installed'])} served from _static; "
          f"{summary['math_pages']} pages with math, {summary['widget_pages']} with widgets, none loads from the internet")


def escape(text: str) -> str:
    return html.escape(text, quote=True)
