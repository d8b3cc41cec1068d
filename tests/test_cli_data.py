"""`medrepro run`'s data options (issue 10, finding 5): --data-dir is read only and must exist; --download-dir and
--yes reach the notebook's kernel as MEDREPRO_DATA and MEDREPRO_YES."""
from __future__ import annotations

import pytest

from medrepro import cli, runner
from medrepro.papers import load


@pytest.fixture
def calls(monkeypatch):
    seen: list[dict] = []

    def fake_execute(nb, *, mode, parameters=None, timeout=600, env=None, **kw):
        seen.append({"nb": nb, "mode": mode, "parameters": dict(parameters or {}), "env": dict(env or {})})
        return {"wall_s": 0.0, "output": nb}

    monkeypatch.setattr(runner, "execute", fake_execute)
    return seen


def _paper_id() -> str:
    return next(p.id for p in load().implemented() if p.datasets)


def test_missing_data_dir_stops_before_running_and_is_not_created(tmp_path, calls, capsys):
    typo = tmp_path / "no-such-folder"
    assert cli.main(["run", _paper_id(), "--mode", "full", "--data-dir", str(typo)]) == 2
    assert calls == [] and not typo.exists() and "does not exist" in capsys.readouterr().out


def test_download_dir_and_yes_reach_the_kernel_environment(tmp_path, calls):
    (tmp_path / "dl").mkdir()
    assert cli.main(["run", _paper_id(), "--mode", "full", "--download-dir", str(tmp_path / "dl"), "--yes"]) == 0
    assert calls[0]["env"] == {"MEDREPRO_DATA": str(tmp_path / "dl"), "MEDREPRO_YES": "1"}
    assert "DATA_DIR" not in calls[0]["parameters"]


def test_missing_download_dir_is_an_error(tmp_path, calls):
    assert cli.main(["run", _paper_id(), "--mode", "full", "--download-dir", str(tmp_path / "nope")]) == 2
    assert calls == [] and not (tmp_path / "nope").exists()


def test_existing_data_dir_is_passed_as_a_parameter(tmp_path, calls):
    assert cli.main(["run", _paper_id(), "--mode", "full", "--data-dir", str(tmp_path)]) == 0
    assert calls[0]["parameters"]["DATA_DIR"] == str(tmp_path.resolve()) and calls[0]["env"] == {}
