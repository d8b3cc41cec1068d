"""Where things live: the repository root, the results folder, the data cache."""
from __future__ import annotations

import os
from pathlib import Path

_MARKER = Path("src") / "medrepro" / "papers.yaml"


def repo_root(start: Path | None = None) -> Path | None:
    """Return the medrepro checkout that contains ``start`` (default: the working directory), or None.

    A checkout is recognised by ``src/medrepro/papers.yaml``. The package's own location is tried
    next, which covers an editable install run from anywhere.
    """
    candidates = [Path(start or Path.cwd()).resolve()]
    candidates.append(Path(__file__).resolve().parent)
    for base in candidates:
        for folder in [base, *base.parents]:
            if (folder / _MARKER).is_file():
                return folder
    return None


def results_dir(mode: str) -> Path:
    """Folder for the reproduction records of one mode: ``$MEDREPRO_RESULTS/<mode>`` or ``<repo>/results/<mode>``."""
    env = os.environ.get("MEDREPRO_RESULTS")
    if env:
        base = Path(env)
    else:
        root = repo_root()
        base = (root / "results") if root else Path.cwd() / "results"
    return base / mode


def data_cache() -> Path:
    """Download cache: ``$MEDREPRO_DATA`` or ``~/.cache/medrepro``."""
    env = os.environ.get("MEDREPRO_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "medrepro"


def manifests_dir() -> Path:
    """The folder of dataset manifests: ``$MEDREPRO_MANIFESTS`` or ``<repo>/data_manifests``."""
    env = os.environ.get("MEDREPRO_MANIFESTS")
    if env:
        return Path(env)
    root = repo_root()
    if root is None:
        raise FileNotFoundError(
            "cannot find the medrepro checkout (src/medrepro/papers.yaml) from the working directory; "
            "run inside a clone, or set MEDREPRO_MANIFESTS to its data_manifests folder"
        )
    return root / "data_manifests"


def scratch_dir(prefix: str = "medrepro-", *, memory: bool = False) -> Path:
    """A new, empty temporary folder that is deleted when the Python process (the kernel) exits.

    Smoke runs write their simulated dataset here in the real format and read it back; the folder must not
    outlive the run (``tempfile.mkdtemp`` alone would leave one behind per run).

    Args:
        prefix: start of the folder's name (say what is in it, e.g. ``"acdc-sim-"``).
        memory: put it in ``/dev/shm`` (RAM) when that exists and is writable — faster for the many small
            files of an image dataset; falls back to the system's temporary folder.
    """
    import atexit
    import shutil
    import tempfile

    where = None
    if memory and os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        where = "/dev/shm"
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=where))
    atexit.register(shutil.rmtree, folder, True)
    return folder
