"""RadFact-lite: RadFact's sentence-level logical and spatial precision/recall, with rule-based entailment.

RadFact (Bannur et al. 2024, the MAIRA-2 paper; code ``microsoft/RadFact``, ``src/radfact/metric/radfact.py``,
``metric/box_metrics.py``, ``metric/schema.py``) scores a generated report sentence by sentence against the
reference, in both directions. An LLM judges, for each sentence (*hypothesis*), whether the other report
*entails* it and which of its sentences are the evidence. Then, per study:

- **logical precision** = share of generated sentences entailed by the reference; **logical recall** = share
  of reference sentences entailed by the generated report;
- a sentence with boxes is **spatially entailed** when it is logically entailed *and* its boxes are covered by
  the boxes of its evidence: the pixel precision of the union of its boxes against the union of the evidence
  boxes (both drawn on a ``mask_size`` × ``mask_size`` mask, coordinates truncated to integers) exceeds 0.5;
- **spatial precision** = spatially entailed / all generated sentences with boxes (RadFact's
  ``full_box_fraction``); **grounding precision** = spatially entailed / *logically entailed* generated
  sentences with boxes (``entailed_box_fraction``); the recalls are the same fractions over the reference's
  sentences, judged against the generated report's evidence;
- a fraction with an empty denominator is NaN, and the study scores are averaged with NaNs left out.

What is *lite* here: entailment is not an LLM's judgement but a deterministic match of parsed facts
(:func:`sentence_facts`: finding, certainty, side, severity from :mod:`medrepro.text.report_facts`, and
negated findings). A positive or uncertain fact is entailed by a report with a matching fact (same finding,
certainty and side; same severity or one unstated), with those sentences as evidence; a negated finding is
entailed when the report states no positive or uncertain fact of it; a sentence that names no finding ("the
lungs are clear") is entailed by a report that states no positive fact. It reads the simulator's vocabulary
only; it is not a validated judge of real reports. The box part (:func:`box_metrics`) follows RadFact's code
line by line and is tested against a transcription of it.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np

Box = tuple[float, float, float, float]   # normalised (x_min, y_min, x_max, y_max) in [0, 1]


@dataclass(frozen=True)
class GroundedSentence:
    """One sentence and its boxes (normalised ``(x_min, y_min, x_max, y_max)``), ``None`` when ungrounded."""

    text: str
    boxes: tuple[Box, ...] | None = None

    def __post_init__(self) -> None:
        if self.boxes is not None and len(self.boxes) == 0:
            raise ValueError(f"empty box list for {self.text!r}: use boxes=None for an ungrounded sentence")


@lru_cache(maxsize=65536)
def sentence_facts(text: str) -> frozenset[tuple[str, str, str, str]]:
    """Facts ``(finding, certainty, side, severity)`` of one sentence; certainty ``positive``, ``uncertain`` or
    ``negative`` (negated findings carry no side or severity). Cached: generated reports repeat their sentences."""
    from ..text.cxr_labeler import NEGATIVE_CODE, label_report
    from ..text.report_facts import report_facts
    from ..sim.cxr import FINDINGS

    facts = set(report_facts(text, use_sections=False))
    codes = label_report(text, use_sections=False)
    stated = {f[0] for f in facts}
    facts |= {(f, "negative", "", "") for f, c in zip(FINDINGS, codes) if c == NEGATIVE_CODE and f not in stated}
    return frozenset(facts)


def _fact_match(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and (a[3] == b[3] or not a[3] or not b[3])


def entailment(hypothesis: str, premises: Sequence[str], *,
               premise_facts: Sequence[frozenset] | None = None) -> tuple[bool, list[int]]:
    """Whether ``premises`` (the sentences of the other report) entail ``hypothesis``, and the evidence indices."""
    hyp = sentence_facts(hypothesis)
    pf = list(premise_facts) if premise_facts is not None else [sentence_facts(p) for p in premises]
    stated = {f[0] for facts in pf for f in facts if f[1] != "negative"}
    if not hyp:                                                        # "the lungs are clear"
        return (not stated), []
    evidence: set[int] = set()
    for fact in hyp:
        if fact[1] == "negative":
            if fact[0] in stated:
                return False, []
            evidence |= {j for j, facts in enumerate(pf) if any(g[0] == fact[0] and g[1] == "negative" for g in facts)}
        else:
            hits = {j for j, facts in enumerate(pf) if any(_fact_match(fact, g) for g in facts)}
            if not hits:
                return False, []
            evidence |= hits
    return True, sorted(evidence)


def box_mask(boxes: Iterable[Box], mask_size: int = 224) -> np.ndarray:
    """RadFact's ``get_mask_from_boxes``: the union of normalised boxes on a ``mask_size`` square mask.

    As in RadFact, coordinates are scaled and truncated to integers and the first mask axis is x (the mask is the
    transpose of an image's; precision and recall do not depend on it)."""
    mask = np.zeros((mask_size, mask_size), dtype=bool)
    for box in boxes:
        x1, y1, x2, y2 = (np.array(box, dtype=float) * mask_size).astype(int)
        mask[x1:x2, y1:y2] = True
    return mask


def box_metrics(pred: Sequence[Box], true: Sequence[Box], mask_size: int = 224) -> dict[str, float]:
    """RadFact's ``compute_box_metrics``: pixel IoU, precision and recall of the unions of two box lists
    (precision NaN when the predicted area is 0, recall NaN when the true area is 0)."""
    pm, tm = box_mask(pred, mask_size), box_mask(true, mask_size)
    pa, ta = int(pm.sum()), int(tm.sum())
    inter, union = int((pm & tm).sum()), int((pm | tm).sum())
    return {"iou": inter / union if union else np.nan,
            "precision": inter / pa if pa > 0 else np.nan,
            "recall": inter / ta if ta > 0 else np.nan}


def _oneway(hyps: Sequence[GroundedSentence], prem: Sequence[GroundedSentence], mask_size: int,
            threshold: float) -> dict[str, float]:
    pf = [sentence_facts(p.text) for p in prem]
    n = len(hyps)
    entailed = boxed = entailed_boxed = spatial = 0
    for h in hyps:
        ok, ev = entailment(h.text, [p.text for p in prem], premise_facts=pf)
        entailed += ok
        if h.boxes is None:
            continue
        boxed += 1
        if ok:
            entailed_boxed += 1
            ev_boxes = [b for j in ev if prem[j].boxes is not None for b in prem[j].boxes]
            if ev_boxes and box_metrics(h.boxes, ev_boxes, mask_size)["precision"] > threshold:
                spatial += 1

    def div(a: int, b: int) -> float:
        return a / b if b else np.nan

    return {"entailed_fraction": div(entailed, n), "full_box_fraction": div(spatial, boxed),
            "entailed_box_fraction": div(spatial, entailed_boxed), "num_phrases": n, "num_phrases_with_boxes": boxed}


def radfact_lite(candidate: Sequence[GroundedSentence], reference: Sequence[GroundedSentence], *,
                 mask_size: int = 224, box_precision_threshold: float = 0.5) -> dict[str, float]:
    """RadFact's per-study scores (``logical_precision``, ``logical_recall``, ``spatial_precision``,
    ``spatial_recall``, ``grounding_precision``, ``grounding_recall`` and the sentence counts) of one generated
    report against its reference, with rule-based entailment (module docstring)."""
    c = _oneway(candidate, reference, mask_size, box_precision_threshold)
    r = _oneway(reference, candidate, mask_size, box_precision_threshold)
    return {"logical_precision": c["entailed_fraction"], "logical_recall": r["entailed_fraction"],
            "spatial_precision": c["full_box_fraction"], "spatial_recall": r["full_box_fraction"],
            "grounding_precision": c["entailed_box_fraction"], "grounding_recall": r["entailed_box_fraction"],
            "num_candidate_phrases": c["num_phrases"], "num_reference_phrases": r["num_phrases"],
            "num_candidate_phrases_with_boxes": c["num_phrases_with_boxes"],
            "num_reference_phrases_with_boxes": r["num_phrases_with_boxes"]}


def f1(precision: float, recall: float) -> float:
    """RadFact's F1 of an aggregated precision and recall (NaN when both are 0, as its division gives)."""
    return 2 * precision * recall / (precision + recall) if precision + recall else float("nan")


def aggregate(scores: Sequence[dict[str, float]]) -> dict[str, float]:
    """RadFact's ``from_aggregate``: the NaN-ignoring mean of each per-study score, and the F1s of the means."""
    keys = ("logical_precision", "logical_recall", "spatial_precision", "spatial_recall", "grounding_precision",
            "grounding_recall")
    out = {}
    for k in keys:
        v = np.array([s[k] for s in scores], dtype=float)
        out[k] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    for name in ("logical", "spatial", "grounding"):
        out[f"{name}_f1"] = f1(out[f"{name}_precision"], out[f"{name}_recall"])
    out["num_samples"] = len(scores)
    return out
