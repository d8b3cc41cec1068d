"""Seed records (results/seeds/<id>.json): every asserted claim holds on seeds 0-4 (or on five from the record's
``start``), and the record is current.

The records are written by `medrepro seeds ID` and committed. These checks read them; they run nothing.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from medrepro import papers, seeds

ROOT = Path(__file__).resolve().parents[1]
IMPLEMENTED = papers.load().implemented()
# Notebooks whose re-examination under issue 11 ("Claims that test the paper") is not finished: they have no seed
# record yet, and the dashboard says so ("no seed record"). The list may only shrink: a notebook leaves it when
# its record is committed, and the test below fails while a listed notebook has one.
PENDING_REWORK: set[str] = set()
CHECKED = [p for p in IMPLEMENTED if p.id not in PENDING_REWORK]


def test_pending_list_names_only_notebooks_without_a_seed_record():
    ids = {p.id for p in IMPLEMENTED}
    assert PENDING_REWORK <= ids, f"not implemented: {PENDING_REWORK - ids}"
    done = sorted(p for p in PENDING_REWORK if seeds.load(p, ROOT) is not None)
    assert not done, f"{done} have a seed record now: remove them from PENDING_REWORK"


@pytest.mark.parametrize("paper", CHECKED, ids=[p.id for p in CHECKED])
def test_every_asserted_claim_holds_on_every_recorded_seed_and_the_record_is_current(paper):
    problems = seeds.problems(paper.id, ROOT)
    assert not problems, "\n".join(problems)


def _fake_record(tmp_path: Path, nb: Path, runs: list[dict]) -> Path:
    (tmp_path / "results" / "seeds").mkdir(parents=True, exist_ok=True)
    rec = {"paper": "merl", "notebook": str(nb), "code_hash": seeds.code_hash(nb), "seeds": [r["seed"] for r in runs],
           "runs": runs}
    path = tmp_path / "results" / "seeds" / "merl.json"
    path.write_text(json.dumps(rec))
    return path


def test_problems_catches_a_failing_seed_a_stale_record_and_missing_seeds(tmp_path, monkeypatch):
    entry = papers.load().by_id("merl")
    nb = tmp_path / entry.notebook
    nb.parent.mkdir(parents=True)
    nb.write_text((ROOT / entry.notebook).read_text())
    claim = {"kind": "R", "statement": "s", "threshold": 0.5, "direction": ">=", "bound": "point", "ci": None}
    runs = [{"seed": s, "error": None, "claims": [dict(claim, value=0.9, passed=True)]} for s in range(5)]
    _fake_record(tmp_path, nb, runs)
    assert seeds.problems("merl", tmp_path) == []

    runs[3]["claims"][0].update(value=0.4, passed=False)             # one seed misses the threshold
    (tmp_path / "results" / "seeds" / "merl.json").unlink()
    _fake_record(tmp_path, nb, runs[:4])                            # and seed 4 is missing
    found = " ".join(seeds.problems("merl", tmp_path))
    assert "seed 3: R claim fails" in found and "seeds [4] not recorded" in found

    text = json.loads(nb.read_text())
    code = next(c for c in text["cells"] if c["cell_type"] == "code")
    code["source"] = "# a change\n" + "".join(code["source"])
    nb.write_text(json.dumps(text))
    assert any("stale" in p for p in seeds.problems("merl", tmp_path))


def test_code_hash_ignores_outputs_and_markdown(tmp_path):
    nb = {"cells": [{"cell_type": "markdown", "source": "a", "metadata": {}},
                    {"cell_type": "code", "source": "x = 1", "metadata": {"tags": ["parameters"]}, "outputs": []}]}
    p = tmp_path / "a.ipynb"
    p.write_text(json.dumps(nb))
    h = seeds.code_hash(p)
    nb["cells"][0]["source"] = "changed prose"
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "text": "1"}]
    p.write_text(json.dumps(nb))
    assert seeds.code_hash(p) == h
    nb["cells"][1]["source"] = "x = 2"
    p.write_text(json.dumps(nb))
    assert seeds.code_hash(p) != h


def test_other_cpu_env_switches_the_kernels_torch_dispatches_to():
    import subprocess
    import sys

    import torch

    env = seeds.other_cpu_env()
    assert set(env) == {"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA"}
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    child = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           env={**os.environ, **env}).stdout.strip()
    assert child != torch.backends.cpu.get_cpu_capability()
    assert child == env["ATEN_CPU_CAPABILITY"].upper()


def test_values_are_compared_only_on_a_machine_like_the_one_that_made_the_record():
    env = seeds.run_environment()
    assert env["cpu_model"] == seeds.cpu_model() and env["cpu_model"]
    assert seeds.same_environment(dict(env))
    assert not seeds.same_environment({**env, "cpu_model": "GenuineIntel family 6 model 143"})   # another processor
    assert not seeds.same_environment({**env, "cpu_capability": "AVX2"})
    legacy = {k: v for k, v in env.items() if k != "cpu_model"}     # written before the processor was stored
    assert seeds.same_environment(legacy)
    assert not seeds.same_environment({k: v for k, v in legacy.items() if k != "threads"})


def _merl_copy_and_claim(tmp_path: Path) -> tuple[Path, dict]:
    """A copy of merl's notebook under ``tmp_path`` (its code hash is the record's) and one passing R claim."""
    entry = papers.load().by_id("merl")
    nb = tmp_path / entry.notebook
    nb.parent.mkdir(parents=True)
    nb.write_text((ROOT / entry.notebook).read_text())
    claim = {"kind": "R", "statement": "s", "threshold": 0.5, "direction": ">=", "bound": "point", "ci": None,
             "value": 0.9, "passed": True}
    return nb, claim


def test_a_record_from_a_later_start_must_hold_five_seeds_from_there(tmp_path):
    # a design judged again on fresh seeds after 0-9 were spent (`medrepro seeds ID --n 10 --start 20`)
    nb, claim = _merl_copy_and_claim(tmp_path)
    runs = [{"seed": s, "error": None, "claims": [dict(claim)]} for s in range(20, 30)]
    path = _fake_record(tmp_path, nb, runs)
    rec = json.loads(path.read_text())
    assert seeds.problems("merl", tmp_path) == [f"merl: seeds {[0, 1, 2, 3, 4]} not recorded"]   # no start field
    path.write_text(json.dumps(dict(rec, start=20)))
    assert seeds.required_seeds(dict(rec, start=20)) == range(20, 25)
    assert seeds.problems("merl", tmp_path) == []
    path.write_text(json.dumps(dict(rec, start=20, seeds=[20, 21, 22, 23], runs=runs[:4])))
    assert seeds.problems("merl", tmp_path) == ["merl: seeds [24] not recorded"]


def test_seeds_cli_passes_the_start_to_the_run_and_the_check(monkeypatch):
    from medrepro import cli

    calls = {}
    monkeypatch.setattr(seeds, "run", lambda paper, seeds, **kw: calls.setdefault("run", (paper, list(seeds))))
    monkeypatch.setattr(seeds, "problems",
                        lambda paper, required=None, **kw: calls.setdefault("check", list(required)) and [])
    assert cli.main(["seeds", "merl", "--n", "10", "--start", "20"]) == 0
    assert calls == {"run": ("merl", list(range(20, 30))), "check": list(range(20, 30))}


def test_add_joins_new_seeds_to_a_record_of_the_same_code_and_refuses_other_code(tmp_path, monkeypatch):
    # `medrepro seeds ID --n 5 --add`: seeds 0-4 joined to a record judged on 20-29 (cxr-multimodel-report, dfu)
    from medrepro import runner

    nb, claim = _merl_copy_and_claim(tmp_path)
    path = _fake_record(tmp_path, nb, [{"seed": s, "error": None, "claims": [dict(claim)]} for s in range(20, 30)])
    path.write_text(json.dumps(dict(json.loads(path.read_text()), start=20, note="judged on 20-29")))

    def fake_execute(notebook, mode, output, parameters, env, **kw):
        out = Path(env["MEDREPRO_RESULTS"]) / "smoke" / "merl.json"
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps({"claims": [dict(claim, value=float(parameters["SEED"]))]}))

    monkeypatch.setattr(runner, "execute", fake_execute)
    rec = seeds.run("merl", range(5), root=tmp_path, progress=False, add=True)
    assert rec["seeds"] == [0, 1, 2, 3, 4, *range(20, 30)] and rec["start"] == 0 and rec["note"] == "judged on 20-29"
    assert [r["claims"][0]["value"] for r in rec["runs"][:5]] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert rec["runs"][5]["claims"][0]["value"] == 0.9                       # the judged runs are kept as they were
    assert json.loads(path.read_text())["seeds"] == rec["seeds"]
    nb.write_text(nb.read_text().replace("SEED = 0", "SEED = 1"))           # other code: refuse to mix
    with pytest.raises(ValueError, match="code hash differs"):
        seeds.run("merl", range(5), root=tmp_path, progress=False, add=True)
