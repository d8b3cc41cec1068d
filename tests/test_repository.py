"""Repository checks: the catalog, the ToC, the notebooks on disk, the dependency files, licences."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from medrepro import book, papers

ROOT = Path(__file__).resolve().parents[1]
CATALOG = papers.load()
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb")
                   if p.name != "TEMPLATE.ipynb" and ".ipynb_checkpoints" not in p.parts)


def test_catalog_has_the_75_papers_with_unique_ids():
    ids = [p.id for p in CATALOG.papers]
    assert len(ids) == 75 and len(set(ids)) == 75
    assert sorted(p.n for p in CATALOG.papers) == sorted(set(p.n for p in CATALOG.papers))
    assert {p.part for p in CATALOG.papers} == {p.id for p in CATALOG.parts}
    assert all(1 <= p.n <= 75 for p in CATALOG.papers)


def test_every_notebook_has_an_entry_and_every_implemented_entry_its_notebook():
    listed = {p.notebook for p in CATALOG.papers if p.notebook}
    on_disk = {str(p.relative_to(ROOT)) for p in NOTEBOOKS}
    assert on_disk == listed, f"on disk only: {on_disk - listed}; listed only: {listed - on_disk}"
    for p in CATALOG.implemented():
        assert (ROOT / p.notebook).is_file(), p.id


def test_every_guide_is_listed_and_exists():
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "book" / "guides").glob("*.ipynb")}
    assert on_disk == set(CATALOG.guides()), f"guides on disk {on_disk} vs listed {CATALOG.guides()}"


def test_entries_name_existing_manifests():
    manifests = {p.stem for p in (ROOT / "data_manifests").glob("*.yaml")}
    for p in CATALOG.papers:
        missing = set(p.datasets) - manifests
        assert not missing, f"{p.id} uses datasets without a manifest: {missing}"


def test_toc_is_generated_from_the_catalog_and_lists_exactly_the_notebooks():
    committed = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert committed == book.toc_text(CATALOG), "_toc.yml is stale: run `medrepro toc`"
    files = re.findall(r"file: (\S+)", committed)
    nb_files = {f + ".ipynb" for f in files if f.startswith("notebooks/")}
    assert nb_files == {p.notebook for p in CATALOG.implemented()}
    for f in files:
        if f.startswith("book/guides/"):
            assert (ROOT / f"{f}.ipynb").is_file(), f
        elif not f.startswith("notebooks/") and f != "book/dashboard":  # the dashboard is generated at build
            assert (ROOT / f"{f}.md").is_file(), f


def test_every_part_has_an_intro_page():
    for part in CATALOG.parts:
        assert (ROOT / "book" / "parts" / f"{part.id}.md").is_file()


def test_bibliography_has_every_paper():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", bib))
    assert {p.bib_key for p in CATALOG.papers} <= keys


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_dependencies_live_in_pyproject_and_derived_files_agree():
    proj = _pyproject()["project"]
    extras = proj["optional-dependencies"]
    assert set(extras) >= {"lab", "book", "test"}
    req = [l.strip() for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert req[0] == "torch==2.13.0", "torch must be pinned first, in the same pip command"
    assert req[1] == "-e .[lab,book,test]"
    assert len(req) == 2, "requirements.txt derives from pyproject.toml: add dependencies there"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert conda == ["python=3.11", "pip"] and pip == ["-r requirements.txt"]
    assert proj["requires-python"] == ">=3.10"
    all_deps = proj["dependencies"] + [d for group in extras.values() for d in group]
    names = {_name(d) for d in all_deps}
    assert "jupyter-book>=1.0.4,<2" in extras["book"]
    assert {"nbmake", "pooch", "einops", "tqdm"} <= names
    assert not names & {"timm", "torchvision", "pytest-nbmake"}, "no torchvision in the required path"
    torch_dep = next(d for d in proj["dependencies"] if _name(d) == "torch")
    assert ">=" in torch_dep and "==" not in torch_dep, "pyproject holds lower bounds"


def test_constraints_pin_every_dependency_exactly():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[_name(name)] = version
    proj = _pyproject()["project"]
    for d in proj["dependencies"] + [d for g in proj["optional-dependencies"].values() for d in g]:
        assert _name(d) in pins, f"{_name(d)} is not pinned in constraints.txt (run `make lock`)"
    assert pins["torch"].startswith("2.13.0")
    assert pins["jupyter-book"].startswith("1.")


def test_licences_and_citation():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert "Creative Commons Attribution 4.0" in (ROOT / "LICENSE-prose").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] and cff["title"] and cff["license"] == "MIT"


def test_nothing_reads_the_shared_folder():
    for path in [*ROOT.glob("src/**/*.py"), *ROOT.glob("tests/**/*.py"), *ROOT.glob("notebooks/**/*.ipynb"),
                 *ROOT.glob("book/**/*.ipynb"),
                 ROOT / "Makefile", ROOT / ".ci" / "run"]:
        text = path.read_text(encoding="utf-8")
        for needle in ("../" + "shared", "/work/" + "shared"):  # split so this file does not match itself
            assert needle not in text, f"{path} refers to {needle}"


def test_notebook_links_point_at_published_notebooks():
    """A link to another notebook must resolve to one the book publishes (the strict build fails otherwise)."""
    import nbformat

    guides = [ROOT / g for g in CATALOG.guides()]
    published = {(ROOT / p.notebook).resolve() for p in CATALOG.implemented()} | {g.resolve() for g in guides}
    for path in [*NOTEBOOKS, *guides]:
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for target in re.findall(r"\]\(([^)#\s]+\.ipynb)(?:#[^)]*)?\)", cell.source):
                if target.startswith("http"):
                    continue
                resolved = (path.parent / target).resolve()
                assert resolved in published, f"{path.relative_to(ROOT)} links to {target}, which the book does not publish"


def test_required_dependencies_carry_no_gpl_licence():
    """The install closure of medrepro's required dependencies (no extras) is permissively licensed."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    seen: dict[str, str] = {}

    def walk(name: str) -> None:
        key = _name(name)
        if key in seen:
            return
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            return
        meta = dist.metadata
        # The SPDX expression, the first line of the free-text field and the trove classifiers; not the
        # whole licence text, which may mention other licences in passing.
        parts = [meta.get("License-Expression") or "", (meta.get("License") or "").splitlines()[0:1],
                 [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]]
        seen[key] = " ".join(p if isinstance(p, str) else " ".join(p) for p in parts)
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                walk(req.name)

    walk("medrepro")
    assert len(seen) > 20, "medrepro is not installed in this environment (pip install -e .)"
    gpl = {k: v for k, v in seen.items() if "GPL" in v.upper() or "GNU GENERAL PUBLIC" in v.upper()}
    assert not gpl, f"GPL-licensed packages in the required set: {gpl}"
