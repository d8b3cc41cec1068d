"""Seed records: every asserted claim of a notebook, measured on seeds 0–4 (or five fresh seeds from a later start).

One run on one seed can pass by luck. ``medrepro seeds ID`` executes a notebook in smoke mode on each seed
and writes ``results/seeds/<id>.json`` — every claim's value, interval and verdict per seed, the wall time,
and the hash of the notebook's code cells. The file is committed; a repository test fails when an ``R`` or
``V`` claim misses its threshold on any recorded seed, or when the record is stale (the notebook's code
changed since, or its claims differ from the record's). Thresholds are set from these runs, and the
reproduction report shows each claim's values on every recorded seed beside the current run's.

A design that failed on seeds 0–9 and was changed is judged again on fresh seeds fixed before running
(``medrepro seeds ID --n 10 --start 20``): the record then starts at that seed, stores it as ``start``, and must
hold the five seeds from it. ``medrepro seeds ID --n 5 --add`` then joins seeds 0–4 of the same code to that record,
so that the notebook's default ``SEED = 0`` (the one CI runs) has recorded values to compare with.

The hash covers the notebook's code cells only, not the package: a change to ``medrepro`` that moves a
notebook's numbers is caught by the smoke run in the tests (seed 0), and the seed record is re-run on purpose.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from .paths import repo_root

DEFAULT_SEEDS = (0, 1, 2, 3, 4)


def seeds_dir(root: Path | None = None) -> Path:
    """``<repo>/results/seeds`` (committed; not moved by ``MEDREPRO_RESULTS``)."""
    root = root or repo_root() or Path.cwd()
    return root / "results" / "seeds"


def code_hash(notebook: str | os.PathLike[str]) -> str:
    """SHA-256 of a notebook's code cells (source and tags), in order; outputs and markdown are ignored."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    h = hashlib.sha256()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        h.update(("".join(src) if isinstance(src, list) else src).encode())
        h.update(json.dumps(sorted(cell.get("metadata", {}).get("tags", []))).encode())
        h.update(b"\x00")
    return h.hexdigest()


def load(paper: str, root: Path | None = None) -> dict[str, Any] | None:
    """The committed seed record of ``paper``, or None. A file that is not valid JSON raises, naming it."""
    path = seeds_dir(root) / f"{paper}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a valid seed record ({exc})") from exc


def claim_key(claim: dict[str, Any]) -> str:
    """How a claim is matched across seeds and runs: its kind and statement."""
    return f"{claim['kind']}: {claim['statement']}"


def other_cpu_env() -> dict[str, str]:
    """Environment variables that make this machine's PyTorch dispatch to another CPU's kernels.

    On an AVX512 machine: the AVX2 kernels of ATen and oneDNN; on any other: ATen's portable (non-vectorised)
    kernels and oneDNN's SSE4.1 ones. The numbers are not those of a real machine of that kind (oneDNN also picks
    kernels by cache size and core type), but they round differently from this machine's own, as a machine
    change does: a claim that holds only within this machine's rounding fails here too."""
    import torch

    if torch.backends.cpu.get_cpu_capability() == "AVX512":
        return {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    return {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41"}


def run(paper: str, seeds: Iterable[int] = DEFAULT_SEEDS, *, timeout: int = 600,
        root: Path | None = None, progress: bool = True, other_cpu: bool = False,
        add: bool = False) -> dict[str, Any]:
    """Execute ``paper``'s notebook in smoke mode on each seed and write ``results/seeds/<paper>.json``.

    A seed on which the notebook fails (an asserted claim fails, or a cell raises) is recorded as failed with
    the error, and the other seeds still run. Returns the record.

    With ``other_cpu``, the runs use another CPU's kernels (:func:`other_cpu_env`) and the record is written
    to ``results/seeds/other-cpu/<paper>.json`` instead (not committed, not read by the tests): a check that the
    claims do not rest on this machine's rounding.

    With ``add``, the new runs join the committed record instead of replacing it (a seed run again replaces its
    old run): e.g. seeds 0-4 run after a design was judged on fresh seeds 20-29, so that the default ``SEED = 0``
    has recorded values. The record must exist and hold the same code (same :func:`code_hash`), else ValueError.
    """
    from . import papers, runner
    from .report import _atomic_write_json

    root = root or repo_root() or Path.cwd()
    entry = papers.load().by_id(paper)
    if entry.notebook is None:
        raise ValueError(f"{paper}: no notebook to run (status {entry.status})")
    nb = root / entry.notebook
    seeds = list(seeds)
    kept: list[dict[str, Any]] = []
    note = None
    if add:
        if other_cpu:
            raise ValueError("add joins runs to the committed record; the other-CPU record is not committed")
        old = load(paper, root)
        if old is None or old.get("code_hash") != code_hash(nb):
            raise ValueError(f"{paper}: --add needs a committed seed record of this very code "
                             f"({'none found' if old is None else 'its code hash differs: run all seeds again'})")
        kept = [r for r in old["runs"] if r["seed"] not in seeds]
        note = old.get("note")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=f"seeds-{paper}-") as tmp:
        for seed in seeds:
            results = Path(tmp) / f"r{seed}"
            t0 = time.perf_counter()
            error = None
            try:
                runner.execute(nb, mode="smoke", output=Path(tmp) / f"s{seed}.ipynb", parameters={"SEED": seed},
                               timeout=timeout, keep=False,
                               env={"MEDREPRO_RESULTS": str(results), **(other_cpu_env() if other_cpu else {})})
            except Exception as exc:  # a failed claim raises inside the notebook; the record was written first
                error = f"{type(exc).__name__}: {str(exc)[-600:]}"
            wall = time.perf_counter() - t0
            rec_path = results / "smoke" / f"{paper}.json"
            rec = json.loads(rec_path.read_text()) if rec_path.is_file() else None
            runs.append({"seed": seed, "wall_s": round(wall, 2), "error": error,
                         "claims": [{k: c.get(k) for k in ("kind", "statement", "threshold", "direction", "bound",
                                                            "value", "ci", "passed")}
                                    for c in (rec or {}).get("claims", [])]})
            if progress:
                state = "ok" if error is None else "FAILED"
                print(f"{paper} seed {seed}: {state} in {wall:.1f} s", flush=True)
    env = run_environment()
    if other_cpu:
        env["cpu_capability"] = other_cpu_env()["ATEN_CPU_CAPABILITY"].upper() + " (emulated)"
    runs = sorted(kept + runs, key=lambda r: r["seed"])
    payload = {"paper": paper, "notebook": entry.notebook, "code_hash": code_hash(nb),
               "seeds": [r["seed"] for r in runs], "start": min((r["seed"] for r in runs), default=0), **env,
               "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "runs": runs}
    if note:
        payload["note"] = note   # why the record holds the seeds it holds (written by hand, kept)
    out = seeds_dir(root) / "other-cpu" / f"{paper}.json" if other_cpu else seeds_dir(root) / f"{paper}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_json(out, payload)
    return payload


def run_environment() -> dict[str, Any]:
    """What a smoke run's numbers depend on besides the code: torch's version, the CPU kernels it dispatches to
    and the thread count. Two runs that agree on these give the same values bit for bit.

    The kernels are named twice: ATen's capability (AVX2, AVX512) and the processor itself (:func:`cpu_model`),
    because oneDNN and MKL choose finer code paths by microarchitecture — measured: an AMD Zen 5 and the machine
    that made the earlier AVX512 records gave different last digits in 7 of 66 notebooks."""
    import torch

    from .config import SMOKE_THREADS

    return {"threads": SMOKE_THREADS, "torch": torch.__version__.split("+")[0],
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_model": cpu_model()}


def cpu_model() -> str:
    """The processor's vendor, family and model (``/proc/cpuinfo`` on Linux; ``platform`` elsewhere), e.g.
    ``"AuthenticAMD family 26 model 2"``: what the BLAS and oneDNN kernel choice depends on beyond ATen's ISA."""
    import platform

    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    break                                    # the first processor is enough
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    if "vendor_id" in fields:
        return f"{fields['vendor_id']} family {fields.get('cpu family', '?')} model {fields.get('model', '?')}"
    return platform.processor() or platform.machine() or "unknown"


def same_environment(rec: dict[str, Any]) -> bool:
    """Whether this machine would reproduce ``rec``'s values bit for bit (see :func:`run_environment`).

    Records written before the environment was stored (no ``threads`` field) were made with one or two
    threads, unrecorded; they are never taken to match, so their values are not compared. Records written before
    the processor was stored (no ``cpu_model``) are compared on the other fields, as they were when made."""
    if rec.get("threads") is None:
        return False
    env = run_environment()
    if "cpu_model" not in rec:
        env.pop("cpu_model")
    return all(rec.get(k) == v for k, v in env.items())


def values_by_claim(rec: dict[str, Any]) -> dict[str, list[tuple[int, float | None, bool | None]]]:
    """{claim key: [(seed, value, passed), ...]} from a seed record."""
    out: dict[str, list[tuple[int, float | None, bool | None]]] = {}
    for r in rec.get("runs", []):
        for c in r["claims"]:
            out.setdefault(claim_key(c), []).append((r["seed"], c.get("value"), c.get("passed")))
    return out


def required_seeds(rec: dict[str, Any]) -> range:
    """The seeds a record must hold: five from its ``start`` (0, i.e. seeds 0-4, for records without one)."""
    start = int(rec.get("start", 0))
    return range(start, start + len(DEFAULT_SEEDS))


def problems(paper: str, root: Path | None = None, required: Iterable[int] | None = None) -> list[str]:
    """What is wrong with ``paper``'s seed record; empty when it is complete, current and every asserted
    claim held on every seed. ``required``: the seeds it must hold (default :func:`required_seeds`)."""
    from . import papers

    root = root or repo_root() or Path.cwd()
    entry = papers.load().by_id(paper)
    rec = load(paper, root)
    if rec is None:
        return [f"{paper}: no seed record (run `medrepro seeds {paper}` and commit results/seeds/{paper}.json)"]
    out = []
    if rec.get("code_hash") != code_hash(root / entry.notebook):
        out.append(f"{paper}: seed record is stale — the notebook's code changed since (`medrepro seeds {paper}`)")
    missing = sorted(set(required_seeds(rec) if required is None else required) - set(rec.get("seeds", [])))
    if missing:
        out.append(f"{paper}: seeds {missing} not recorded")
    keys = None
    for r in rec.get("runs", []):
        if r.get("error"):
            out.append(f"{paper} seed {r['seed']}: the run failed: {r['error'][:300]}")
        these = [claim_key(c) for c in r["claims"]]
        if keys is not None and these != keys:
            out.append(f"{paper} seed {r['seed']}: other claims than seed {rec['runs'][0]['seed']}")
        keys = these if keys is None else keys
        for c in r["claims"]:
            if c["kind"] in ("R", "V") and c.get("passed") is not True:
                out.append(f"{paper} seed {r['seed']}: {c['kind']} claim fails: {c['statement']} "
                           f"(value {c.get('value')}, ci {c.get('ci')}, threshold {c.get('bound')} "
                           f"{c.get('direction')} {c.get('threshold')})")
    return out
