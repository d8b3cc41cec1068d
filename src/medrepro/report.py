"""Claims and reproduction records.

A notebook states each claim *before* it measures it::

    zero_shot = Claim("R", "zero-shot macro AUROC on held-out simulated ECGs", threshold=0.70,
                      why="chance is 0.5; ...")
    ...
    zero_shot.check(auroc, ci=(lo, hi))
    record(cfg, [zero_shot, ...], deviations=[...])

Kinds: ``R`` (robust) claims are asserted — ``record`` writes the record and then raises
:class:`ClaimFailed` when one fails, which fails the notebook in CI. ``E`` (exploratory) claims are
reported with their interval and never asserted. On fixture data (the miniature copies the tests write)
nothing is asserted: the numbers mean nothing there, and the record says so.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .config import RunConfig
from .paths import repo_root, results_dir

_DIRECTIONS = {">=": lambda v, t: v >= t, ">": lambda v, t: v > t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t}


class ClaimFailed(AssertionError):
    """A robust (``R``) claim did not hold in this run."""


@dataclass
class PaperNumber:
    """A number reported by the paper, with where it was read."""

    value: float | str | None
    source: str  # e.g. "Table 2, PTB-XL column" or "not confirmed"
    unit: str = ""


@dataclass
class Claim:
    """One claim of a notebook, fixed before the run.

    Args:
        kind: ``"R"`` robust (asserted) or ``"E"`` exploratory (reported with an interval).
        statement: what is claimed, in words, including the metric.
        threshold: the bound the measured value must meet (``R``) or is compared with (``E``).
        direction: how the value is compared with the threshold: ``>=``, ``>``, ``<=``, ``<``.
        why: why this threshold — chance level, the baseline, the paper.
        by_construction: when the claim holds because the simulator was built that way, say how.
        paper: the paper's corresponding number (full mode), with its source.
    """

    kind: str
    statement: str
    threshold: float | None = None
    direction: str = ">="
    why: str = ""
    by_construction: str | None = None
    paper: PaperNumber | None = None
    value: float | None = None
    ci: tuple[float, float] | None = None
    passed: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("R", "E"):
            raise ValueError(f"claim kind must be 'R' or 'E', got {self.kind!r}")
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(_DIRECTIONS)}, got {self.direction!r}")
        if self.kind == "R" and self.threshold is None:
            raise ValueError(f"an R claim needs a threshold fixed before the run: {self.statement!r}")

    def check(self, value: float, ci: Sequence[float] | None = None, note: str = "") -> "Claim":
        """Record the measured value (and its interval) and whether it meets the threshold."""
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"claim {self.statement!r} measured NaN")
        self.value = value
        self.ci = (float(ci[0]), float(ci[1])) if ci is not None else None
        self.note = note
        if self.threshold is not None:
            self.passed = bool(_DIRECTIONS[self.direction](value, self.threshold))
        return self

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "not measured"
        if self.threshold is None:
            return "reported"
        if self.kind == "E":  # reported, never asserted: say whether it met the bound, in either direction
            return "meets bound" if self.passed else "misses bound"
        return "holds" if self.passed else "FAILS"


def _git_commit() -> str | None:
    root = repo_root()
    if root is None:
        return None
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MB (``ru_maxrss``)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 / (1024.0 if sys.platform == "darwin" else 1.0)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    names = ["torch", "numpy", "monai", "scikit-learn", "wfdb", "nibabel", "pydicom", "medrepro"]
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = md.version(n)
        except md.PackageNotFoundError:
            pass
    return out


def _atomic_write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=2, default=_json_default)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def record(
    cfg: RunConfig,
    claims: Iterable[Claim],
    *,
    metrics: dict[str, Any] | None = None,
    deviations: Sequence[str] = (),
    data: str = "",
    display: bool = True,
) -> dict[str, Any]:
    """Write ``results/<mode>/<paper>.json`` and show the reproduction report.

    Raises :class:`ClaimFailed` *after* writing when an ``R`` claim fails (or was never measured),
    except on fixture data, where nothing is asserted.
    """
    claims = list(claims)
    on_fixture = cfg.on_fixture
    payload: dict[str, Any] = {
        "paper": cfg.paper,
        "mode": cfg.mode,
        "data": data or ("fixture (miniature of the real layout; numbers are meaningless)" if on_fixture else ""),
        "on_fixture": on_fixture,
        "seed": cfg.seed,
        "device": str(cfg.device),
        "threads": cfg.threads,
        "runtime_s": round(cfg.elapsed(), 3),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "finished_at": __import__("datetime").datetime.now().astimezone().isoformat(timespec="seconds"),
        "claims": [dict(asdict(c), verdict=c.verdict) for c in claims],
        "metrics": metrics or {},
        "deviations": list(deviations),
    }
    path = results_dir(cfg.mode) / f"{cfg.paper}.json"
    _atomic_write_json(path, payload)
    if display:
        show_report(payload)
    failed = [c for c in claims if c.kind == "R" and c.passed is not True]
    if failed and not on_fixture:
        lines = "; ".join(f"{c.statement}: {c.value} vs {c.direction} {c.threshold}" for c in failed)
        raise ClaimFailed(f"{len(failed)} robust claim(s) failed in {cfg.paper} ({cfg.mode}): {lines}")
    return payload


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def report_markdown(payload: dict[str, Any]) -> str:
    """The reproduction report of one record as a markdown table plus deviations."""
    rows = ["| kind | claim | threshold | ours (95 % CI) | paper | verdict |", "|---|---|---|---|---|---|"]
    for c in payload["claims"]:
        thr = f"{c['direction']} {_fmt(c['threshold'])}" if c["threshold"] is not None else "—"
        ours = _fmt(c["value"])
        if c.get("ci"):
            ours += f" ({_fmt(c['ci'][0])}–{_fmt(c['ci'][1])})"
        paper = "—"
        if c.get("paper"):
            p = c["paper"]
            paper = f"{_fmt(p['value'])} ({p['source']})"
        statement = c["statement"]
        if c.get("by_construction"):
            statement += f" *(holds by construction: {c['by_construction']})*"
        rows.append(f"| {c['kind']} | {statement} | {thr} | {ours} | {paper} | **{c['verdict']}** |")
    text = [f"**Reproduction record** — `{payload['paper']}`, mode `{payload['mode']}`, seed {payload['seed']}, "
            f"device `{payload['device']}`, {payload['runtime_s']:.1f} s after setup, "
            f"peak memory {payload['peak_memory_mb']:.0f} MB.", ""]
    if payload.get("on_fixture"):
        text += ["> Fixture run: the data is a miniature of the real layout with simulated content. "
                 "Nothing is asserted and no number here means anything.", ""]
    elif payload["mode"] == "smoke":
        text += ["> Smoke mode: simulated data on a CPU. These numbers test the method's mechanics; "
                 "they are **not** the paper's results.", ""]
    text += rows
    if payload.get("deviations"):
        text += ["", "**Deviations from the paper**", ""] + [f"- {d}" for d in payload["deviations"]]
    return "\n".join(text)


def show_report(payload: dict[str, Any]) -> None:
    """Display the report in a notebook (markdown) or print it in a terminal."""
    md = report_markdown(payload)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(md))
            return
    except ImportError:  # pragma: no cover
        pass
    print(md)


def load_records(mode: str, base: Path | None = None) -> dict[str, dict[str, Any]]:
    """All records of one mode, keyed by paper id. Unreadable files raise with their path."""
    folder = (base / mode) if base else results_dir(mode)
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not a valid reproduction record ({exc})") from exc
        out[rec.get("paper", path.stem)] = rec
    return out
