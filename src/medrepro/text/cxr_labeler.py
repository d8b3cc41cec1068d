"""A rule-based, CheXpert-style labeller for chest radiograph reports on the simulator's vocabulary.

Three stages, as in the NIH ChestX-ray8 text mining and the CheXpert labeller (simplified: regular
expressions over sentences instead of dependency parses):

1. **Mention extraction** — each finding's synonyms (:data:`medrepro.sim.cxr_reports.POSITIVE`) and the
   whole-sentence denials (:data:`NEGATIVE_SENTENCES`, e.g. "heart size is normal") are found per sentence,
   optionally only in the FINDINGS and IMPRESSION sections (the indication names what is looked for, not
   what is seen).
2. **Classification of each mention** — *negative* when a negation trigger ("no", "without", "no evidence
   of", "free of") precedes it within its scope (the rest of the sentence up to a terminator such as "but",
   "however") or a post-negation ("has resolved", "is not seen") follows it; *uncertain* when a hedge
   ("possible", "cannot exclude", "is not excluded", "may represent", "questionable", "suspicious for")
   applies; otherwise *positive*.
3. **Aggregation** per finding: positive if any mention is positive, else uncertain if any is, else
   negative if any is, else not mentioned (CheXpert's order).

Labels use CheXpert's codes: ``1`` positive, ``0`` negative, ``-1`` uncertain, ``NaN`` not mentioned.
``label_reports(..., negation=False, sections=False)`` is the keyword-matching baseline: every mention
anywhere is positive.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from ..sim.cxr import FINDINGS
from ..sim.cxr_reports import NEGATIVE_SENTENCES, POSITIVE

POSITIVE_CODE, NEGATIVE_CODE, UNCERTAIN_CODE = 1.0, 0.0, -1.0
PRE_NEGATION = ("no", "without", "no evidence of", "free of", "negative for", "absence of", "resolution of")
POST_NEGATION = ("has resolved", "have resolved", "is not seen", "are not seen", "is no longer seen", "is absent")
PRE_UNCERTAIN = ("possible", "possibly", "cannot exclude", "may represent", "questionable", "suspicious for",
                 "probable")
POST_UNCERTAIN = ("is not excluded", "cannot be excluded", "is possible")
TERMINATORS = ("but", "however", "although", "which", "except")
_SECTION = re.compile(r"\b(INDICATION|HISTORY|COMPARISON|TECHNIQUE|FINDINGS|IMPRESSION)\s*:", re.I)
# whole-sentence denials that name no synonym (e.g. "heart size is normal"), per finding
_DENIALS = {f: tuple(s for s in NEGATIVE_SENTENCES[f]
                     if not any(re.search(rf"\b{re.escape(p)}\b", s) for p in POSITIVE[f])) for f in FINDINGS}
_MENTION = {f: re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(POSITIVE[f], key=len, reverse=True))
                          + r")\b") for f in FINDINGS}


def _words(s: str) -> str:
    return " " + re.sub(r"\s+", " ", s).strip() + " "


def sections(text: str, keep: Sequence[str] = ("FINDINGS", "IMPRESSION")) -> str:
    """The text of the named sections; the whole text when it has no section headers."""
    marks = list(_SECTION.finditer(text))
    if not marks:
        return text
    out = []
    for j, m in enumerate(marks):
        end = marks[j + 1].start() if j + 1 < len(marks) else len(text)
        if m.group(1).upper() in keep:
            out.append(text[m.end():end])
    return " ".join(out)


def _classify(before: str, after: str, negation: bool) -> float:
    """Code of one mention from the words before it (within scope) and after it (to the sentence end)."""
    if not negation:
        return POSITIVE_CODE
    for t in TERMINATORS:                                   # scope: after the last terminator
        k = before.rfind(f" {t} ")
        if k >= 0:
            before = before[k + len(t) + 1:]
    for t in TERMINATORS:
        k = after.find(f" {t} ")
        if k >= 0:
            after = after[:k + 1]
    b, a = _words(before), _words(after)
    if any(f" {t} " in b for t in PRE_NEGATION) or any(f" {t} " in a or a.startswith(f" {t}") for t in POST_NEGATION):
        return NEGATIVE_CODE
    if any(f" {t} " in b for t in PRE_UNCERTAIN) or any(f" {t} " in a or a.startswith(f" {t}") for t in POST_UNCERTAIN):
        return UNCERTAIN_CODE
    return POSITIVE_CODE


def label_report(text: str, *, negation: bool = True, use_sections: bool = True) -> np.ndarray:
    """Codes ``(K,)`` over :data:`medrepro.sim.cxr.FINDINGS` for one report (see the module docstring)."""
    body = sections(text) if use_sections else _SECTION.sub(" ", text)
    body = body.lower()
    out = np.full(len(FINDINGS), np.nan)
    for sentence in re.split(r"[.;\n]+", body):
        s = _words(sentence.replace(",", " , "))
        for k, f in enumerate(FINDINGS):
            codes = []
            if negation and any(_words(d) in s for d in _DENIALS[f]):
                codes.append(NEGATIVE_CODE)
            for m in _MENTION[f].finditer(s):
                codes.append(_classify(s[:m.start()], s[m.end():], negation))
            for c in codes:
                cur = out[k]
                # aggregation: positive > uncertain > negative > not mentioned
                rank = {POSITIVE_CODE: 3, UNCERTAIN_CODE: 2, NEGATIVE_CODE: 1}
                if np.isnan(cur) or rank[c] > rank[cur]:
                    out[k] = c
    return out


def label_reports(texts: Sequence[str], *, negation: bool = True, use_sections: bool = True) -> np.ndarray:
    """Codes ``(n, K)`` for a list of reports."""
    return np.stack([label_report(t, negation=negation, use_sections=use_sections) for t in texts]) \
        if len(texts) else np.zeros((0, len(FINDINGS)))


def binarise(codes: np.ndarray, uncertain: str = "positive") -> np.ndarray:
    """Binary labels from codes: positive (and uncertain, when ``uncertain="positive"``, CheXpert's U-Ones) is 1."""
    if uncertain not in ("positive", "negative"):
        raise ValueError(f"uncertain must be 'positive' or 'negative', got {uncertain!r}")
    c = np.asarray(codes, float)
    pos = c == POSITIVE_CODE
    return pos | (c == UNCERTAIN_CODE) if uncertain == "positive" else pos
