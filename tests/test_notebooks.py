"""Every implemented notebook runs under papermill in smoke mode and in full mode on its fixture.

The smoke runs write the executed copies and records that `make book` then reuses (nothing runs twice).
Every R claim of a smoke record must hold (the notebook itself raises when one fails; this re-checks the
record). Full mode runs on a miniature fixture of the real dataset layout with a tiny budget: nothing
is asserted about the numbers, but every claim must have been measured.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from medrepro import papers, runner, seeds
from medrepro.data import datasets

ROOT = Path(__file__).resolve().parents[1]
IMPLEMENTED = papers.load().implemented()
HANG_TIMEOUT = 600  # seconds per cell: only to catch hangs, not a budget


@pytest.mark.notebook
@pytest.mark.parametrize("paper", IMPLEMENTED, ids=[p.id for p in IMPLEMENTED])
def test_smoke(paper):
    out = runner.execute(ROOT / paper.notebook, mode="smoke", timeout=HANG_TIMEOUT)
    rec = out["record"]
    assert rec is not None, f"{paper.id} wrote no record"
    assert rec["mode"] == "smoke" and not rec["on_fixture"] and rec["wall_s"] > 0
    r_claims = [c for c in rec["claims"] if c["kind"] == "R"]
    assert r_claims or rec.get("no_r_reason"), f"{paper.id} has no R claim and says not why"
    for c in rec["claims"]:
        assert c["value"] is not None, f"{paper.id}: claim not measured: {c['statement']}"
    for c in rec["claims"]:
        if c["kind"] in ("R", "V"):
            assert c["passed"] is True, f"{paper.id}: {c['kind']} claim failed: {c['statement']} = {c['value']}"
    # the committed seed record must describe these very claims (same statements, thresholds and bounds)
    from test_seed_records import PENDING_REWORK

    seed_rec = seeds.load(paper.id, ROOT)
    if seed_rec is None and paper.id in PENDING_REWORK:
        return  # listed as not yet re-examined (tests/test_seed_records.py); no seed record to compare with
    assert seed_rec is not None, f"{paper.id}: no seed record; run `medrepro seeds {paper.id}`"
    fields = ("kind", "statement", "threshold", "direction", "bound")
    now = [tuple(c.get(k) for k in fields) for c in rec["claims"]]
    recorded = [tuple(c.get(k) for k in fields) for c in seed_rec["runs"][0]["claims"]]
    assert now == recorded, f"{paper.id}: the claims differ from the seed record's; run `medrepro seeds {paper.id}`"
    # ...and, on a machine like the one that made it (same torch, CPU kernels, one thread), the very values of
    # seed 0: a change to the package that moves a notebook's numbers shows here, not only in the notebook.
    if seeds.same_environment(seed_rec) and seed_rec["runs"][0]["seed"] == rec["seed"]:
        for c, r in zip(rec["claims"], seed_rec["runs"][0]["claims"]):
            assert c["value"] == r["value"], (
                f"{paper.id}: {c['statement']} = {c['value']} here, {r['value']} in the seed record (seed "
                f"{rec['seed']}); re-run `medrepro seeds {paper.id}` if the change was meant")
    for c in rec["claims"]:
        if c["kind"] == "E" and c["threshold"] is None:
            assert c["ci"] is not None, f"{paper.id}: E claim without an interval: {c['statement']}"


@pytest.mark.notebook
@pytest.mark.parametrize("paper", [p for p in IMPLEMENTED if p.datasets], ids=[p.id for p in IMPLEMENTED if p.datasets])
def test_full_mode_on_fixture(paper, tmp_path):
    roots = [datasets.get(ds).make_fixture(tmp_path / ds, seed=0) for ds in paper.datasets]
    results = tmp_path / "results"
    out = runner.execute(ROOT / paper.notebook, mode="full", output=tmp_path / "executed.ipynb",
                         parameters={"DATA_DIR": str(roots[0]), "BUDGET_S": 10}, timeout=HANG_TIMEOUT,
                         env={"MEDREPRO_RESULTS": str(results)})
    rec = json.loads((results / "full" / f"{paper.id}.json").read_text())
    assert rec["mode"] == "full" and rec["on_fixture"] is True
    for c in rec["claims"]:
        assert c["value"] is not None, f"{paper.id} (full, fixture): claim not measured: {c['statement']}"
    assert out["wall_s"] < 300


@pytest.mark.notebook
def test_template_runs_and_same_seed_gives_identical_metrics(tmp_path):
    values = []
    for run in range(2):
        results = tmp_path / f"r{run}"
        runner.execute(ROOT / "notebooks" / "TEMPLATE.ipynb", mode="smoke", output=tmp_path / f"t{run}.ipynb",
                       timeout=HANG_TIMEOUT, env={"MEDREPRO_RESULTS": str(results)})
        rec = json.loads((results / "smoke" / "template.json").read_text())
        values.append(([c["value"] for c in rec["claims"]], rec["metrics"]))
    assert values[0] == values[1]


REPRO_PAPER = "bcp"  # a notebook that trains a network: the strongest determinism check within budget


@pytest.mark.notebook
@pytest.mark.skipif(REPRO_PAPER not in {p.id for p in IMPLEMENTED}, reason=f"{REPRO_PAPER} not implemented")
def test_same_seed_gives_identical_recorded_metrics_on_cpu(tmp_path):
    # On a machine like the one that made the seed records, test_smoke already compares every notebook's seed-0
    # values with its record, made in another process at another time: a stronger check than two runs here.
    seed_rec = seeds.load(REPRO_PAPER, ROOT)
    if seed_rec is not None and seeds.same_environment(seed_rec) and seed_rec["runs"][0]["seed"] == 0:
        pytest.skip("covered by test_smoke: each notebook's seed-0 values equal its seed record's on this machine")
    nb = ROOT / papers.load().by_id(REPRO_PAPER).notebook
    runs = []
    for run in range(2):
        results = tmp_path / f"r{run}"
        runner.execute(nb, mode="smoke", output=tmp_path / f"o{run}.ipynb", timeout=HANG_TIMEOUT,
                       env={"MEDREPRO_RESULTS": str(results)})
        rec = json.loads((results / "smoke" / f"{REPRO_PAPER}.json").read_text())
        runs.append(([(c["value"], c["ci"]) for c in rec["claims"]], rec["metrics"]))
    assert runs[0] == runs[1]


GUIDES = papers.load().guides()


@pytest.mark.notebook
@pytest.mark.parametrize("guide", GUIDES, ids=[Path(g).stem for g in GUIDES])
def test_guide_runs_offline_and_draws_its_figures(guide):
    """Guides (documentation notebooks, no claims) run in smoke mode; the executed copy goes into the book."""
    import nbformat

    out = runner.execute(ROOT / guide, mode="smoke", timeout=HANG_TIMEOUT)
    nb = nbformat.read(out["output"], as_version=4)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors and images >= 5, f"{guide}: {len(errors)} errors, {images} figures"


@pytest.mark.notebook
@pytest.mark.parametrize("guide", GUIDES, ids=[Path(g).stem for g in GUIDES])
def test_guide_with_real_data_on_fixture(guide, tmp_path):
    """A guide that declares datasets (notebook metadata ``medrepro_guide.datasets``) also runs on their fixture."""
    import nbformat

    declared = nbformat.read(str(ROOT / guide), as_version=4).metadata.get("medrepro_guide", {}).get("datasets", [])
    if not declared:
        pytest.skip(f"{guide} declares no dataset")
    root = datasets.get(declared[0]).make_fixture(tmp_path / declared[0], seed=0)
    out = runner.execute(ROOT / guide, mode="smoke", output=tmp_path / "executed.ipynb",
                         parameters={"DATA_DIR": str(root)}, timeout=HANG_TIMEOUT, keep=True)
    nb = nbformat.read(out["output"], as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "DATA_DIR is not set" not in text
