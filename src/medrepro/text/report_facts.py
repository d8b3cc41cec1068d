"""Clinical facts of a chest radiograph report: finding, certainty, side and severity, and their F1.

The finding-level labels of :mod:`medrepro.text.cxr_labeler` (CheXpert-style: positive, negative,
uncertain) do not see a swapped side ("left" for "right") or a changed severity ("small" for "large"), two
errors a report-generation metric ought to catch. :func:`report_facts` labels each clause (sentences split
at ``.``, ``;`` and new lines) with the labeller and attaches the side and severity words found in the same
clause to each positive or uncertain finding, giving a set of facts ``(finding, certainty, side, severity)``.
Absent findings make no fact (a denial only cancels a fact; its wording does not matter).

:func:`fact_f1` matches the facts of a candidate against those of a reference: a fact matches when the
finding and certainty agree, the sides agree, and the severities agree *or one of them is unstated* (a
paraphrase may say "enlarged heart" without a grade). It is a clinical-efficacy score on the simulator's
vocabulary, as CheXbert-based CE F1 is on real reports; it is not a validated labeller for real text.
"""
from __future__ import annotations

import re
from typing import Iterable

from ..sim.cxr import FINDINGS
from .cxr_labeler import POSITIVE_CODE, UNCERTAIN_CODE, label_report, sections

SIDES = ("right", "left", "bilateral")
SEVERITIES = ("minimal", "mild", "small", "patchy", "moderate", "large", "marked", "extensive", "severe")
_SIDE = re.compile(r"\b(" + "|".join(SIDES) + r")\b")
_SEVERITY = re.compile(r"\b(" + "|".join(SEVERITIES) + r")\b")

Fact = tuple[str, str, str, str]   # (finding, "positive" | "uncertain", side or "", severity or "")


def report_facts(text: str, *, use_sections: bool = True) -> frozenset[Fact]:
    """The set of positive and uncertain facts ``(finding, certainty, side, severity)`` of one report."""
    body = sections(text) if use_sections else text
    facts: set[Fact] = set()
    for clause in re.split(r"[.;\n]+", body.lower()):
        if not clause.strip():
            continue
        codes = label_report(clause, use_sections=False)
        side = _SIDE.search(clause)
        sev = _SEVERITY.search(clause)
        for k, f in enumerate(FINDINGS):
            c = codes[k]
            if c == POSITIVE_CODE or c == UNCERTAIN_CODE:
                facts.add((f, "positive" if c == POSITIVE_CODE else "uncertain",
                           side.group(1) if side else "", sev.group(1) if sev else ""))
    # a finding stated positive anywhere is positive (the labeller's aggregation): drop its uncertain facts
    pos = {f for f, c, _, _ in facts if c == "positive"}
    return frozenset(x for x in facts if not (x[1] == "uncertain" and x[0] in pos))


def _match(a: Fact, b: Fact) -> bool:
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and (a[3] == b[3] or not a[3] or not b[3])


def _matched(xs: Iterable[Fact], ys: list[Fact]) -> int:
    """Greedy one-to-one matches of ``xs`` into ``ys``."""
    free = list(ys)
    n = 0
    for x in xs:
        for j, y in enumerate(free):
            if _match(x, y):
                free.pop(j)
                n += 1
                break
    return n


def fact_f1(reference: frozenset[Fact], candidate: frozenset[Fact]) -> float:
    """F1 of the candidate's facts against the reference's; 1 when both state no fact (both normal)."""
    ref, cand = sorted(reference), sorted(candidate)
    if not ref and not cand:
        return 1.0
    tp = _matched(cand, ref)
    prec = tp / len(cand) if cand else 0.0
    rec = tp / len(ref) if ref else 0.0
    return 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)


#: Change categories of a comparison with the prior study and the words that state them (checked in this order:
#: "previously seen effusion has resolved" is resolved, not new).
COMPARISON_PATTERNS: tuple[tuple[str, str], ...] = (
    ("resolved", r"\bresolved\b|\bresolution\b|\bno longer seen\b"),
    ("new", r"\bnew\b|\binterval development\b|\bnewly\b"),
    ("worse", r"\bincreas\w*|\bworse\w*|\bprogress\w*|\benlarg(?:ing|ed than)\b"),
    ("improved", r"\bdecreas\w*|\bimprov\w*|\bsmaller\b"),
    ("stable", r"\bunchanged\b|\bstable\b|\bno (?:significant )?(?:interval )?change\b"),
)
_COMPARISON = tuple((name, re.compile(pat)) for name, pat in COMPARISON_PATTERNS)


def comparison_statements(text: str, *, use_sections: bool = True) -> dict[str, str]:
    """The comparison with the prior study that a report states, per finding: ``{finding: change}``.

    ``change`` is one of ``resolved``, ``new``, ``worse``, ``improved``, ``stable``
    (:data:`COMPARISON_PATTERNS`). A clause (split at ``.``, ``;``, new lines) that mentions a finding by one of
    its phrases (:data:`medrepro.sim.cxr_reports.POSITIVE`, whatever its negation) and a change word states that
    change for that finding; a later clause overrides an earlier one. Findings whose clauses state no change are
    left out: the report makes no comparison for them.
    """
    from ..sim.cxr_reports import POSITIVE

    body = sections(text) if use_sections else text
    out: dict[str, str] = {}
    for clause in re.split(r"[.;\n]+", body.lower()):
        change = next((name for name, pat in _COMPARISON if pat.search(clause)), None)
        if change is None:
            continue
        for f in FINDINGS:
            if any(re.search(r"\b" + re.escape(p) + r"\b", clause) for p in POSITIVE[f]):
                out[f] = change
    return out
