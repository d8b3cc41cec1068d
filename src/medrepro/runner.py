"""Execute notebooks with papermill, time them, and keep the executed copies for the book.

An executed copy carries the hash of what produced it (the notebook's source cells, the package and
the manifests); ``make book`` reuses a copy whose hash still matches, so a notebook that the tests just
ran is not run a second time.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

from .paths import repo_root, results_dir


def source_hash(notebook: Path, root: Path | None = None) -> str:
    """Hash of the notebook's cell sources plus every file of the package and the manifests."""
    import nbformat

    root = root or repo_root() or Path.cwd()
    h = hashlib.sha256()
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        h.update(cell.cell_type.encode())
        h.update(cell.source.encode())
        h.update(json.dumps(sorted(cell.metadata.get("tags", []))).encode())
    for folder in (root / "src" / "medrepro", root / "data_manifests"):
        for p in sorted(folder.rglob("*")):
            if p.is_file() and p.suffix in {".py", ".yaml", ".yml", ".json", ".txt"} and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


def executed_path(notebook: Path, root: Path | None = None) -> Path:
    root = root or repo_root() or Path.cwd()
    return root / "_build" / "executed" / notebook.resolve().relative_to(root.resolve())


def is_fresh(notebook: Path, mode: str = "smoke", root: Path | None = None, *, needs_record: bool = True) -> bool:
    """True when an executed copy exists with the current source hash and (for a paper) its record exists."""
    import nbformat

    out = executed_path(notebook, root)
    if not out.is_file():
        return False
    meta = nbformat.read(str(out), as_version=4).metadata.get("medrepro", {})
    paper = notebook.stem
    return (meta.get("source_hash") == source_hash(notebook, root) and meta.get("mode") == mode
            and meta.get("ok") is True and (not needs_record or (results_dir(mode) / f"{paper}.json").is_file()))


def execute(notebook: str | os.PathLike[str], *, mode: str = "smoke", output: Path | None = None,
            parameters: dict[str, Any] | None = None, timeout: int = 600, keep: bool = True,
            env: dict[str, str] | None = None, stream_output: bool = False) -> dict[str, Any]:
    """Run one notebook with papermill in its own folder and return timing facts.

    The wall time includes kernel start. The paper's record (written by the notebook) gets ``wall_s`` and
    ``cpu_s`` (CPU seconds of the kernel and its workers, kernel start included) added. Raises papermill's ``PapermillExecutionError`` when a cell fails (e.g. a failed ``R`` claim).
    ``stream_output``: also write what the cells print to this process's stdout and stderr as they run
    (a campaign job's log then shows how far a notebook got).
    """
    import sys

    import nbformat
    import papermill as pm

    notebook = Path(notebook).resolve()
    root = repo_root(notebook.parent) or notebook.parent
    params = {"MODE": mode, **(parameters or {})}
    out = Path(output) if output else executed_path(notebook, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".running.ipynb")
    # the kernel inherits os.environ: an Agg backend (set for headless CI) would save no figures
    # OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning, so two notebooks running side by
    # side on two cores (pytest -n 2; a full-mode run or a caller with more than one thread) are not slowed 2-3x by each other's spinning
    # (measured: a small CNN's 60 steps took 9-10 s side by side, 4.5-5 s passive, 3.8 s alone). Numbers unchanged.
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"), **(env or {})}
    old_env = {}
    for k, v in env.items():
        old_env[k] = os.environ.get(k)
        os.environ[k] = v
    rec_path = results_dir(mode) / f"{notebook.stem}.json"  # where the kernel writes it (env may move it)
    start = time.perf_counter()
    # CPU seconds of the kernel and everything it forked (run_arms workers): children are counted once reaped,
    # and papermill reaps the kernel before it returns. Unlike wall time this does not double when another
    # notebook shares the cores (pytest -n 2), so it is the record's estimate of a notebook's time alone.
    cpu_before = _children_cpu_s()
    ok = False
    try:
        pm.execute_notebook(str(notebook), str(tmp), parameters=params, cwd=str(notebook.parent),
                            kernel_name="python3", progress_bar=False, execution_timeout=timeout,
                            log_output=False, request_save_on_cell_execute=False,
                            stdout_file=sys.stdout if stream_output else None,
                            stderr_file=sys.stderr if stream_output else None)
        ok = True
    finally:
        wall = time.perf_counter() - start
        cpu = _children_cpu_s() - cpu_before
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if tmp.is_file():
            nb = nbformat.read(str(tmp), as_version=4)
            nb.metadata["medrepro"] = {"source_hash": source_hash(notebook, root), "mode": mode, "ok": ok,
                                       "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "parameters": params}
            nbformat.write(nb, str(tmp))
            if keep:
                os.replace(tmp, out)
            else:
                tmp.unlink()
    record = None
    if rec_path.is_file():
        record = json.loads(rec_path.read_text())
        record["wall_s"] = round(wall, 2)
        record["cpu_s"] = round(cpu, 2)
        rec_path.write_text(json.dumps(record, indent=2) + "\n")
    return {"notebook": str(notebook), "output": str(out), "wall_s": wall, "cpu_s": cpu, "record": record}


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's reaped children (and theirs), so far."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime
