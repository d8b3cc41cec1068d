"""The notebook contract of CONTRIBUTING.md, as functions the tests (and contributors) can call."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

SECTIONS = ["Prerequisites", "Parameters", "Setup", "Data", "Method", "Experiment", "Results",
            "Reproduction report", "Exercises", "What next"]
OPTIONAL_AFTER = {"References"}
REQUIRED_PARAMETERS = {"MODE": "smoke", "SEED": 0, "DATA_DIR": None, "DEVICE": "auto", "BUDGET_S": None}


def h2_headings(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^##\s+(.+?)\s*$", line)
            if m:
                out.append(m.group(1))
    return out


def parameters_cell(nb):
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return tagged


def _papermill_parameters(source: str) -> set[str]:
    """The names papermill's own parser (``papermill --help-notebook``) finds in a parameters cell."""
    import logging

    from papermill.translators import PythonTranslator

    logger = logging.getLogger("papermill")
    level, logger.level = logger.level, logging.ERROR          # it warns per unparsable line; we report them
    try:
        return {p.name for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(source))}
    finally:
        logger.setLevel(level)


def problems(path: Path) -> list[str]:
    """Every way the notebook at ``path`` breaks the contract (empty list: it follows it)."""
    nb = nbformat.read(str(path), as_version=4)
    out: list[str] = []
    first = nb.cells[0] if nb.cells else None
    if first is None or first.cell_type != "markdown" or not first.source.lstrip().startswith("# "):
        out.append("the first cell must be a markdown cell with a level-1 title")
    head = "\n".join(c.source for c in nb.cells[:3] if c.cell_type == "markdown")
    if "colab.research.google.com/github/" not in head:
        out.append("no Open in Colab link in the title cell")
    if "Learning objectives" not in head:
        out.append("no 'Learning objectives' in the title cell")
    heads = [h for h in h2_headings(nb)]
    core = [h for h in heads if h not in OPTIONAL_AFTER]
    if core != SECTIONS:
        out.append(f"level-2 sections must be exactly {SECTIONS} in order, found {core}")
    tagged = parameters_cell(nb)
    if len(tagged) != 1:
        out.append(f"exactly one cell must be tagged 'parameters', found {len(tagged)}")
    else:
        cell = tagged[0]
        if cell.cell_type != "code":
            out.append("the parameters cell must be a code cell")
        else:
            values = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        values[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        values[node.targets[0].id] = "<expr>"
            documented = _papermill_parameters(cell.source)
            for name in values:
                if name not in documented:
                    out.append(f"parameters cell: papermill cannot parse the line of {name} (e.g. an '=' in its "
                               "comment), so `papermill --help-notebook` leaves it out")
            for name, default in REQUIRED_PARAMETERS.items():
                if name not in values:
                    out.append(f"parameters cell lacks {name}")
                elif values[name] != default:
                    out.append(f"parameters cell: {name} must default to {default!r}, got {values[name]!r}")
        idx = nb.cells.index(cell)
        before = [h for c in nb.cells[:idx] if c.cell_type == "markdown" for h in h2_headings(nbformat.v4.new_notebook(cells=[c]))]
        if not before or before[-1] != "Parameters":
            out.append("the parameters cell must sit in the Parameters section")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            out.append(f"cell {i} has outputs or an execution count: strip outputs (make strip)")
            break
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if "medrepro.setup(" not in code:
        out.append("no medrepro.setup(...) call")
    if not re.search(r"\brecord\(\s*cfg", code):
        out.append("no reproduction record written (record(cfg, ...))")
    ex = next((c.source for c in nb.cells if c.cell_type == "markdown" and re.match(r"^##\s+Exercises", c.source)), "")
    if len(re.findall(r"^\s*\d+\.\s", ex, flags=re.M)) < 2:
        out.append("fewer than two numbered exercises under ## Exercises")
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        out.append("kernelspec must be python3")
    return out
