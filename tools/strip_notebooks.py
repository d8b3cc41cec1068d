"""Strip outputs and execution counts from notebooks (the form they are committed in).

Usage: python tools/strip_notebooks.py [--check] PATH...
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def strip(nb: nbformat.NotebookNode) -> bool:
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            if cell.get("outputs") or cell.get("execution_count") is not None:
                changed = True
            cell["outputs"] = []
            cell["execution_count"] = None
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
    for key in ("papermill", "medrepro", "widgets"):
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    return changed


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or [Path("notebooks")]
    files = [f for p in paths for f in (sorted(p.rglob("*.ipynb")) if p.is_dir() else [p])]
    dirty = []
    for f in files:
        nb = nbformat.read(str(f), as_version=4)
        if strip(nb):
            dirty.append(f)
            if not check:
                nbformat.write(nb, str(f))
    for f in dirty:
        print(("has outputs: " if check else "stripped: ") + str(f))
    return 1 if (check and dirty) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
