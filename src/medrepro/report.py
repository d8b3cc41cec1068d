"""Claims and reproduction records.

A notebook states each claim *before* it measures it::

    zero_shot = Claim("R", "zero-shot macro AUROC on held-out simulated ECGs", threshold=0.70,
                      why="chance is 0.5; ...")
    ...
    zero_shot.check(auroc, ci=(lo, hi))
    record(cfg, [zero_shot, ...], deviations=[...])

Kinds:

- ``R`` — the paper's own contribution, reproduced at this scale. Asserted: ``record`` writes the record
  and then raises :class:`ClaimFailed` when one fails, which fails the notebook in CI.
- ``V`` — verification of the implementation (equivalence to a reference, identities, measured cost
  exponents, frozen weights, a loss that has flattened). Asserted like ``R`` but shown apart and never
  counted as reproducing the paper.
- ``E`` — exploratory: reported with its interval and never asserted.

A difference or a non-inferiority is judged on the bound of its interval (``bound="ci_low"`` for "at least",
``bound="ci_high"`` for "at most"), not on the point estimate. Every ``R`` and ``V`` claim must hold on seeds
0–4: ``medrepro seeds ID`` runs the notebook on each seed and writes ``results/seeds/<id>.json`` (committed);
the report shows each claim's value on every recorded seed beside this run's. On fixture data (the miniature
copies the tests write) nothing is asserted: the numbers mean nothing there, and the record says so.
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


KINDS = {"R": "the paper's contribution (asserted)", "V": "verification of the implementation (asserted)",
         "E": "exploratory (reported with its interval, not asserted)"}
BOUNDS = ("point", "ci_low", "ci_high")


class ClaimFailed(AssertionError):
    """An asserted (``R`` or ``V``) claim did not hold in this run."""


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
        kind: ``"R"`` the paper's contribution (asserted), ``"V"`` verification of the implementation
            (asserted, shown apart) or ``"E"`` exploratory (reported with an interval).
        statement: what is claimed, in words, including the metric. It identifies the claim across seeds:
            fixed text, no number measured in the run.
        threshold: the bound the measured value must meet (``R``/``V``) or is compared with (``E``).
        direction: how the value is compared with the threshold: ``>=``, ``>``, ``<=``, ``<``.
        bound: what is compared with the threshold: ``"point"`` (the estimate), ``"ci_low"`` (the lower end
            of its interval: "at least", a difference that must exclude zero, a non-inferiority margin) or
            ``"ci_high"`` (the upper end: "at most").
        why: why this threshold — chance level, the baseline, the paper, the seed runs.
        by_construction: when the claim holds because the simulator was built that way, say how.
        designed_task: when the smoke task was designed so that the paper's mechanism is necessary (an
            incorrect implementation still fails it), say how — distinct from ``by_construction``.
        paper: the paper's corresponding number (full mode), with its source.
    """

    kind: str
    statement: str
    threshold: float | None = None
    direction: str = ">="
    bound: str = "point"
    why: str = ""
    by_construction: str | None = None
    designed_task: str | None = None
    paper: PaperNumber | None = None
    value: float | None = None
    ci: tuple[float, float] | None = None
    passed: bool | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim kind must be one of {sorted(KINDS)}, got {self.kind!r}")
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(_DIRECTIONS)}, got {self.direction!r}")
        if self.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {BOUNDS}, got {self.bound!r}")
        if self.kind in ("R", "V") and self.threshold is None:
            raise ValueError(f"an {self.kind} claim needs a threshold fixed before the run: {self.statement!r}")

    @property
    def asserted(self) -> bool:
        """``R`` and ``V`` claims are asserted; ``E`` claims are reported."""
        return self.kind in ("R", "V")

    @property
    def judged_value(self) -> float | None:
        """The number compared with the threshold: the estimate or one end of its interval (``bound``)."""
        if self.value is None:
            return None
        if self.bound == "point":
            return self.value
        return self.ci[0] if self.bound == "ci_low" else self.ci[1]

    def check(self, value: float, ci: Sequence[float] | None = None, note: str = "") -> "Claim":
        """Record the measured value (and its interval) and whether it meets the threshold.

        With ``bound="ci_low"`` or ``"ci_high"`` the interval is required and its end is what is judged.
        """
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"claim {self.statement!r} measured NaN")
        if self.bound != "point" and ci is None:
            raise ValueError(f"claim {self.statement!r} is judged on its interval ({self.bound}): pass ci=")
        if ci is not None:
            lo, hi = float(ci[0]), float(ci[1])
            if math.isnan(lo) or math.isnan(hi) or lo > hi:
                raise ValueError(f"claim {self.statement!r}: invalid interval ({lo}, {hi})")
            self.ci = (lo, hi)
        else:
            self.ci = None
        self.value = value
        self.note = note
        if self.threshold is not None:
            self.passed = bool(_DIRECTIONS[self.direction](self.judged_value, self.threshold))
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

    @property
    def threshold_text(self) -> str:
        """E.g. ``>= 0.02`` or ``lower CI >= 0.02``; ``—`` without a threshold."""
        if self.threshold is None:
            return "—"
        where = {"point": "", "ci_low": "lower CI ", "ci_high": "upper CI "}[self.bound]
        return f"{where}{self.direction} {self.threshold:g}"


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
    """Peak resident memory of this process in MB.

    On Linux ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` survives ``fork`` + ``exec``, so a Jupyter kernel
    started by a process that had grown to 900 MB (a pytest worker) reported 900 MB however little it used
    (measured: a 9-MB child of a 610-MB parent read 610). Elsewhere ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0            # kB
    except (OSError, ValueError, IndexError):
        pass
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


def _seed_values(paper: str, claims: Sequence["Claim"]) -> dict[str, Any] | None:
    """This paper's committed seed record, summarised per claim, with whether it is current."""
    try:
        from . import papers, seeds

        rec = seeds.load(paper)
        if rec is None:
            return None
        entry = papers.load().by_id(paper)
        root = repo_root()
        current = bool(root and entry.notebook and rec.get("code_hash") == seeds.code_hash(root / entry.notebook))
    except (KeyError, ValueError, OSError):
        return None
    by_key = seeds.values_by_claim(rec)
    return {"current": current, "seeds": rec.get("seeds", []),
            "claims": {f"{c.kind}: {c.statement}": by_key.get(f"{c.kind}: {c.statement}", []) for c in claims}}


def record(
    cfg: RunConfig,
    claims: Iterable[Claim],
    *,
    metrics: dict[str, Any] | None = None,
    deviations: Sequence[str] = (),
    data: str = "",
    provenance: dict[str, Any] | Sequence[dict[str, Any]] | None = None,
    no_r_reason: str | None = None,
    display: bool = True,
) -> dict[str, Any]:
    """Write ``results/<mode>/<paper>.json`` and show the reproduction report.

    Args:
        cfg: the run's configuration (paper id, mode, seed, device, fixture or not).
        claims: the claims, stated before the run and checked after it.
        metrics: further numbers to keep in the record (named; name conventions such as the HD95 kind).
        deviations: every way this run differs from the paper's protocol.
        data: one line on what data the run used.
        provenance: full mode: what ``medrepro.data.manifest.provenance`` says about each dataset used
            (id, version, and whether its files were verified against the publisher's checksums). When not
            given, every dataset that ``manifest.locate`` returned in this process is recorded.
        no_r_reason: when the notebook has no ``R`` claim, why none is possible (a survey, a dataset paper); also
            required when every ``R`` claim holds by construction of the simulator, to say why no claim that could
            fail for a wrong idea is possible here.

    Raises :class:`ClaimFailed` *after* writing when an ``R`` or ``V`` claim fails (or was never measured),
    except on fixture data, where nothing is asserted. Raises ``ValueError`` when there is no ``R`` claim, or
    every ``R`` claim is labelled ``by_construction``, and no ``no_r_reason`` says why.
    """
    claims = list(claims)
    r_claims = [c for c in claims if c.kind == "R"]
    if not r_claims and not no_r_reason:
        raise ValueError(f"{cfg.paper}: no R claim on the paper's contribution; say why with no_r_reason=")
    if r_claims and all(c.by_construction for c in r_claims) and not no_r_reason:
        raise ValueError(f"{cfg.paper}: every R claim holds by construction of the simulator; say why no other is "
                         "possible with no_r_reason=")
    keys = [f"{c.kind}: {c.statement}" for c in claims]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{cfg.paper}: two claims share a statement; statements identify claims across seeds")
    on_fixture = cfg.on_fixture
    if isinstance(provenance, dict):
        provenance = [provenance]
    if provenance is None and cfg.mode == "full" and "medrepro.data.manifest" in sys.modules:
        provenance = sys.modules["medrepro.data.manifest"].located()  # what locate() found in this process
    payload: dict[str, Any] = {
        "paper": cfg.paper,
        "mode": cfg.mode,
        "data": data or ("fixture (miniature of the real layout; numbers are meaningless)" if on_fixture else ""),
        "on_fixture": on_fixture,
        "provenance": list(provenance or []),
        "seed": cfg.seed,
        "device": str(cfg.device),
        "threads": cfg.threads,
        "runtime_s": round(cfg.elapsed(), 3),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "git_commit": _git_commit(),
        "versions": _versions(),
        "finished_at": __import__("datetime").datetime.now().astimezone().isoformat(timespec="seconds"),
        "claims": [dict(asdict(c), verdict=c.verdict, threshold_text=c.threshold_text) for c in claims],
        "no_r_reason": no_r_reason,
        "metrics": metrics or {},
        "deviations": list(deviations),
    }
    if cfg.mode == "smoke" and not on_fixture:
        payload["seed_record"] = _seed_values(cfg.paper, claims)
    path = results_dir(cfg.mode) / f"{cfg.paper}.json"
    _atomic_write_json(path, payload)
    if display:
        show_report(payload)
    failed = [c for c in claims if c.asserted and c.passed is not True]
    if failed and not on_fixture:
        lines = "; ".join(f"{c.kind} {c.statement}: {c.value} (ci {c.ci}) vs {c.threshold_text}" for c in failed)
        raise ClaimFailed(f"{len(failed)} asserted claim(s) failed in {cfg.paper} ({cfg.mode}): {lines}")
    return payload


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _seed_cell(payload: dict[str, Any], c: dict[str, Any]) -> str:
    sr = payload.get("seed_record")
    if not sr:
        return "—"
    vals = sr["claims"].get(f"{c['kind']}: {c['statement']}", [])
    if not vals:
        return "not in record"
    text = ", ".join(("✗" if p is False and c["kind"] != "E" else "") + _fmt(v, 3) for _, v, p in vals)
    return text + ("" if sr["current"] else " (stale)")


_KIND_TITLES = {"R": "R — the paper's contribution (asserted)",
                "V": "V — verification of the implementation (asserted; not a reproduction of the paper)",
                "E": "E — exploratory (reported with its interval, not asserted)"}


def report_markdown(payload: dict[str, Any]) -> str:
    """The reproduction report of one record: one table per claim kind, then the deviations."""
    seeded = bool(payload.get("seed_record"))
    head = "| claim | threshold | ours (95 % CI) |" + (" seeds " + ", ".join(
        str(s) for s in payload["seed_record"]["seeds"]) + " (committed) |" if seeded else "") + " paper | verdict |"
    text = [f"**Reproduction record** — `{payload['paper']}`, mode `{payload['mode']}`, seed {payload['seed']}, "
            f"device `{payload['device']}`, {payload['runtime_s']:.1f} s after setup, "
            f"peak memory {payload['peak_memory_mb']:.0f} MB.", ""]
    if payload.get("on_fixture"):
        text += ["> Fixture run: the data is a miniature of the real layout with simulated content. "
                 "Nothing is asserted and no number here means anything.", ""]
    elif payload["mode"] == "smoke":
        text += ["> Smoke mode: simulated data on a CPU. These numbers test the method's mechanics; "
                 "they are **not** the paper's results.", ""]
    for prov in payload.get("provenance") or []:
        text += [f"> Data: `{prov.get('dataset')}` {prov.get('version') or ''} — {prov.get('source')}", ""]
    if payload.get("no_r_reason"):
        has_r = any(c["kind"] == "R" for c in payload["claims"])
        text += [f"**{'Every R claim holds by construction' if has_r else 'No R claim'}**: "
                 f"{payload['no_r_reason']}", ""]
    for kind in ("R", "V", "E"):
        claims = [c for c in payload["claims"] if c["kind"] == kind]
        if not claims:
            continue
        text += [f"**{_KIND_TITLES[kind]}**", "", head, "|---" * (head.count("|") - 1) + "|"]
        for c in claims:
            thr = c.get("threshold_text") or (f"{c['direction']} {_fmt(c['threshold'])}"
                                              if c["threshold"] is not None else "—")
            ours = _fmt(c["value"])
            if c.get("ci"):
                ours += f" ({_fmt(c['ci'][0])} to {_fmt(c['ci'][1])})"
            paper = "—"
            if c.get("paper"):
                p = c["paper"]
                paper = f"{_fmt(p['value'])} ({p['source']})"
            statement = c["statement"]
            if c.get("designed_task"):
                statement += f" *(designed task: {c['designed_task']})*"
            if c.get("by_construction"):
                statement += f" *(holds by construction: {c['by_construction']})*"
            seeds_col = f" {_seed_cell(payload, c)} |" if seeded else ""
            text.append(f"| {statement} | {thr} | {ours} |{seeds_col} {paper} | **{c['verdict']}** |")
        text.append("")
    if payload.get("deviations"):
        text += ["**Deviations from the paper**", ""] + [f"- {d}" for d in payload["deviations"]]
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
