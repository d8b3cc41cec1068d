import json

import pytest

import medrepro
from medrepro.data.datasets import mark_fixture
from medrepro.report import Claim, ClaimFailed, PaperNumber, load_records, record


@pytest.fixture(autouse=True)
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDREPRO_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def test_claim_needs_threshold_and_kind():
    with pytest.raises(ValueError, match="threshold"):
        Claim("R", "x")
    with pytest.raises(ValueError, match="kind"):
        Claim("X", "x", threshold=1)
    with pytest.raises(ValueError, match="NaN"):
        Claim("E", "x").check(float("nan"))


def test_directions():
    assert Claim("R", "lower is better", threshold=2.0, direction="<=").check(1.5).passed
    assert Claim("E", "lower is better", threshold=2.0, direction="<=").check(1.5).verdict == "meets bound"
    assert not Claim("R", "higher", threshold=0.7).check(0.69).passed


def test_record_writes_then_fails_on_failed_R(results):
    cfg = medrepro.setup(paper="demo", mode="smoke", seed=1)
    ok = Claim("R", "holds", threshold=0.5).check(0.9, ci=(0.8, 0.95))
    bad = Claim("R", "fails", threshold=0.5).check(0.4)
    exploratory = Claim("E", "explored", threshold=0.0).check(-1.0)
    with pytest.raises(ClaimFailed, match="fails"):
        record(cfg, [ok, bad, exploratory], display=False)
    rec = json.loads((results / "smoke" / "demo.json").read_text())
    assert [c["verdict"] for c in rec["claims"]] == ["holds", "FAILS", "misses bound"]
    assert rec["seed"] == 1 and rec["runtime_s"] >= 0 and rec["peak_memory_mb"] > 0
    assert "torch" in rec["versions"]


def test_unmeasured_R_claim_fails():
    cfg = medrepro.setup(paper="demo", mode="smoke")
    with pytest.raises(ClaimFailed):
        record(cfg, [Claim("R", "never measured", threshold=1)], display=False)


def test_exploratory_failure_does_not_raise(results):
    cfg = medrepro.setup(paper="demo", mode="smoke")
    record(cfg, [Claim("E", "small effect", threshold=0.1).check(0.0)], display=False, no_r_reason="test")
    assert load_records("smoke")["demo"]["claims"][0]["passed"] is False


def test_fixture_runs_assert_nothing(tmp_path, results):
    mark_fixture(tmp_path / "fx", "demo")
    cfg = medrepro.setup(paper="demo", mode="full", data_dir=tmp_path / "fx")
    assert cfg.on_fixture
    rec = record(cfg, [Claim("R", "meaningless here", threshold=0.9,
                             paper=PaperNumber(0.75, "Table 1")).check(0.1)], display=False)
    assert rec["on_fixture"] and "fixture" in rec["data"]


def test_report_markdown_mentions_smoke_and_deviation():
    from medrepro.report import report_markdown

    cfg = medrepro.setup(paper="demo", mode="smoke")
    rec = record(cfg, [Claim("E", "x", by_construction="the simulator encodes it").check(1.0)],
                 deviations=["smaller model"], display=False, no_r_reason="test")
    md = report_markdown(rec)
    assert "not** the paper's results" in md and "smaller model" in md and "by construction" in md


def test_corrupt_record_named(results):
    (results / "smoke").mkdir(parents=True)
    (results / "smoke" / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        load_records("smoke")


def test_V_claims_are_asserted_and_shown_apart(results):
    cfg = medrepro.setup(paper="demo", mode="smoke")
    r = Claim("R", "the paper's idea", threshold=0.0, bound="ci_low").check(0.05, ci=(0.01, 0.09))
    v = Claim("V", "scan equals the recurrence", threshold=1e-5, direction="<=").check(1e-3)
    with pytest.raises(ClaimFailed, match="V scan equals"):
        record(cfg, [r, v], display=False)
    from medrepro.report import report_markdown

    md = report_markdown(load_records("smoke")["demo"])
    assert md.index("R — the paper's contribution") < md.index("V — verification") and "lower CI >= 0" in md


def test_bound_judges_the_interval_not_the_point():
    c = Claim("R", "difference excludes zero", threshold=0.0, direction=">", bound="ci_low")
    assert c.check(0.04, ci=(-0.01, 0.09)).passed is False          # the point is positive, the interval is not
    assert c.check(0.04, ci=(0.005, 0.09)).passed is True
    hi = Claim("R", "non-inferior: at most 0.02 worse", threshold=0.02, direction="<=", bound="ci_high")
    assert hi.check(0.0, ci=(-0.03, 0.03)).passed is False
    with pytest.raises(ValueError, match="pass ci="):
        Claim("R", "needs its interval", threshold=0.0, bound="ci_low").check(0.1)
    with pytest.raises(ValueError, match="invalid interval"):
        Claim("E", "x").check(0.1, ci=(0.2, 0.1))
    with pytest.raises(ValueError, match="bound"):
        Claim("R", "x", threshold=0.0, bound="lower")
    with pytest.raises(ValueError, match="V claim needs a threshold"):
        Claim("V", "x")


def test_record_needs_an_R_claim_or_a_reason_and_unique_statements(results):
    cfg = medrepro.setup(paper="demo", mode="smoke")
    with pytest.raises(ValueError, match="no_r_reason"):
        record(cfg, [Claim("V", "v", threshold=0.0).check(1.0)], display=False)
    rec = record(cfg, [Claim("V", "v", threshold=0.0).check(1.0)], display=False, no_r_reason="a survey")
    assert rec["no_r_reason"] == "a survey"
    # R claims that all hold by construction of the simulator do not count: the reason is needed then too
    built = [Claim("R", "built in", threshold=0, by_construction="the simulator sets it").check(1),
             Claim("V", "v", threshold=0.0).check(1.0)]
    with pytest.raises(ValueError, match="by construction"):
        record(cfg, built, display=False)
    rec = record(cfg, built, display=False, no_r_reason="the paper's data is private")
    assert rec["no_r_reason"] == "the paper's data is private"
    mixed = [Claim("R", "built in", threshold=0, by_construction="the simulator sets it").check(1),
             Claim("R", "can fail", threshold=0).check(1)]
    assert record(cfg, mixed, display=False)["no_r_reason"] is None
    with pytest.raises(ValueError, match="share a statement"):
        record(cfg, [Claim("R", "same", threshold=0).check(1), Claim("R", "same", threshold=0).check(1)],
               display=False)


def test_full_record_carries_the_provenance_of_what_locate_found(tmp_path, results):
    from medrepro.data import datasets, manifest

    root = datasets.get("mitdb").make_fixture(tmp_path / "mitdb", seed=0)
    found = manifest.locate("mitdb", root)
    cfg = medrepro.setup(paper="demo", mode="full", data_dir=root)
    rec = record(cfg, [Claim("R", "r", threshold=0).check(1)], display=False)
    prov = [p for p in rec["provenance"] if p["path"] == str(found)]
    assert prov and prov[0]["dataset"] == "mitdb" and prov[0]["source"] == "fixture"
