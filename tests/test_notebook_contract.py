"""Every notebook (and the template) follows the contract; the checker itself catches violations."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from notebook_contract import problems

ROOT = Path(__file__).resolve().parents[1]
ALL = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_notebook_follows_contract(path):
    assert problems(path) == []


def _broken(tmp_path, edit) -> Path:
    nb = nbformat.read(str(ROOT / "notebooks" / "TEMPLATE.ipynb"), as_version=4)
    edit(nb)
    out = tmp_path / "broken.ipynb"
    nbformat.write(nb, str(out))
    return out


def test_checker_catches_missing_section(tmp_path):
    def drop(nb):
        nb.cells = [c for c in nb.cells if not c.source.startswith("## Results")]
    assert any("sections" in p for p in problems(_broken(tmp_path, drop)))


def test_checker_catches_second_parameters_cell_and_wrong_default(tmp_path):
    def edit(nb):
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        nb.cells.append(nbformat.v4.new_code_cell("X = 1", metadata={"tags": ["parameters"]}))
        cell.source = cell.source.replace('MODE = "smoke"', 'MODE = "full"')
    found = problems(_broken(tmp_path, edit))
    assert any("exactly one cell" in p for p in found)


def test_checker_catches_wrong_mode_default(tmp_path):
    def edit(nb):
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source = cell.source.replace('MODE = "smoke"', 'MODE = "full"')
    assert any("MODE must default" in p for p in problems(_broken(tmp_path, edit)))


def test_checker_catches_outputs_and_single_exercise(tmp_path):
    def edit(nb):
        code = next(c for c in nb.cells if c.cell_type == "code")
        code.outputs = [nbformat.v4.new_output("stream", text="hi")]
        ex = next(c for c in nb.cells if c.source.startswith("## Exercises"))
        ex.source = "## Exercises\n\n1. Only one."
    found = problems(_broken(tmp_path, edit))
    assert any("outputs" in p for p in found) and any("two numbered exercises" in p for p in found)


def test_checker_catches_a_parameter_papermill_cannot_parse(tmp_path):
    def edit(nb):
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += "\nWEIGHT = 10.0   # lambda in L = a + lambda * b\n"
    assert any("cannot parse the line of WEIGHT" in p for p in problems(_broken(tmp_path, edit)))
