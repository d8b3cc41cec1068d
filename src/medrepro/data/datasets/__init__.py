"""One module per real dataset: a loader for its real on-disk layout, and ``make_fixture(root)``.

``make_fixture(root, seed=0)`` writes a miniature copy of the dataset's exact layout (same folder
names, file names, formats and index files) filled with simulated content, plus a ``MEDREPRO_FIXTURE``
marker. The tests run every notebook in full mode against these fixtures with a tiny budget, so the
full-mode code path cannot rot unseen. A fixture is never evidence of anything: the reproduction
record of a fixture run asserts no claim.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

FIXTURE_MARKER = "MEDREPRO_FIXTURE"


def is_fixture(root: str | Path) -> bool:
    """True when ``root`` (or its parent) was written by a ``make_fixture``."""
    root = Path(root)
    return (root / FIXTURE_MARKER).is_file() or (root.parent / FIXTURE_MARKER).is_file()


def folder_holding(path: str | Path, name: str, manifest: str) -> Path:
    """The folder that holds the file ``name``: ``path`` itself or one of its immediate sub-folders (a user may
    pass the folder they unpacked the download into, or the dataset's own folder). Raises FileNotFoundError naming
    the file, the folder searched and the manifest that describes the layout."""
    path = Path(path).expanduser()
    if (path / name).is_file():
        return path
    for child in sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []:
        if (child / name).is_file():
            return child
    raise FileNotFoundError(f"{name} not found in {path} or its sub-folders; see data_manifests/{manifest}.yaml")


def mark_fixture(root: str | Path, dataset: str) -> None:
    """Write the marker that tells a notebook it runs on a fixture."""
    Path(root).mkdir(parents=True, exist_ok=True)
    (Path(root) / FIXTURE_MARKER).write_text(
        f"miniature fixture of the {dataset} layout with simulated content, written by medrepro; not real data\n")


def get(dataset_id: str) -> ModuleType:
    """The dataset module for a manifest id (``ptbxl`` → ``medrepro.data.datasets.ptbxl``)."""
    return importlib.import_module(f"{__name__}.{dataset_id.replace('-', '_')}")
