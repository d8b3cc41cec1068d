"""Free-text chest radiograph reports generated from simulated findings, with the mess of real reports.

:func:`generate_reports` writes one report per image of a :class:`medrepro.sim.cxr.CxrBatch` (or from a
label/severity/side array), in the sections real reports have::

    INDICATION: shortness of breath. evaluate for effusion.
    COMPARISON: chest radiograph of the prior study.
    FINDINGS: moderate left pleural effusion has increased. no pneumothorax. heart size is normal.
    IMPRESSION: moderate left pleural effusion.

Each finding is phrased with one of several synonyms and with severity and side words; absent findings are
often negated ("no pneumothorax", "no pleural effusion or pneumothorax", a negation after the mention:
"previously seen pneumothorax has resolved"); some present findings are hedged ("possible", "cannot
exclude"); the indication names findings that the film may not show ("evaluate for pneumothorax"); the
comparison with a prior study uses the change codes of :func:`medrepro.sim.cxr.prior_params`. Label noise:
a present finding is sometimes left out (``omit_prob``) and an absent one sometimes hedged
(``false_hedge_prob``).

The vocabulary (:data:`POSITIVE`, :data:`NEGATIVE_SENTENCES`, :data:`HEDGES`) is shared with the rule-based
labeller :mod:`medrepro.text.cxr_labeler`: the labeller was written for these phrasings, so its accuracy on
these reports is an upper bound for what it would reach on real reports.

Realistic: sections, synonyms, severity and side words, negations with a scope over lists, post-mention
negations, hedges, indications that mention findings, comparisons with a prior, omissions.
Not modelled: the length and variety of real reports (devices, bones, technique, recommendations),
misspellings, dictation errors, abbreviations beyond a few, the correlations of real findings with words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .cxr import CHANGES, FINDINGS

#: Phrases that state each finding (the first is the plain name). Side and severity words are added.
POSITIVE: dict[str, tuple[str, ...]] = {
    "cardiomegaly": ("cardiomegaly", "enlarged cardiac silhouette", "enlargement of the cardiac silhouette",
                     "enlarged heart"),
    "effusion": ("pleural effusion", "effusion", "pleural fluid", "blunting of the costophrenic angle"),
    "nodule": ("nodule", "pulmonary nodule", "nodular opacity", "rounded opacity"),
    "consolidation": ("consolidation", "airspace consolidation", "airspace disease", "patchy airspace opacity"),
    "pneumothorax": ("pneumothorax", "apical pneumothorax", "pleural air"),
    "atelectasis": ("atelectasis", "plate-like atelectasis", "atelectatic change", "volume loss"),
}

#: Whole sentences that deny one finding (said when it is absent).
NEGATIVE_SENTENCES: dict[str, tuple[str, ...]] = {
    "cardiomegaly": ("heart size is normal", "the cardiac silhouette is normal in size", "no cardiomegaly",
                     "normal heart size"),
    "effusion": ("no pleural effusion", "no effusion", "there is no pleural effusion",
                 "the costophrenic angles are sharp"),
    "nodule": ("no nodule", "no pulmonary nodules are seen", "no suspicious nodule"),
    "consolidation": ("no focal consolidation", "no consolidation", "there is no airspace disease"),
    "pneumothorax": ("no pneumothorax", "there is no pneumothorax", "no evidence of pneumothorax"),
    "atelectasis": ("no atelectasis", "no volume loss"),
}

#: Hedges that make a mention uncertain, before or after it.
HEDGES: tuple[str, ...] = ("possible {}", "cannot exclude {}", "{} is not excluded", "may represent {}",
                           "questionable {}", "suspicious for {}")

#: Words of the comparison with the prior study, by change code.
CHANGE_WORDS: dict[str, tuple[str, ...]] = {
    "new": ("new {}", "{} is new", "interval development of {}"),
    "worse": ("{} has increased", "increasing {}", "{}, worse than before"),
    "stable": ("unchanged {}", "{} is stable", "stable {}"),
    "improved": ("{} has decreased", "improving {}", "decreased {}"),
    "resolved": ("previously seen {} has resolved", "{} has resolved", "interval resolution of {}"),
}

#: Reasons for the exam; the second element lists the findings it names (which may be absent).
INDICATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("shortness of breath", ()), ("cough and fever", ()), ("chest pain", ()), ("pre-operative assessment", ()),
    ("shortness of breath, evaluate for effusion", ("effusion",)),
    ("chest pain after line placement, evaluate for pneumothorax", ("pneumothorax",)),
    ("follow-up of pulmonary nodule", ("nodule",)), ("fever, rule out consolidation", ("consolidation",)),
    ("known cardiomegaly, dyspnoea", ("cardiomegaly",)), ("post-operative, atelectasis?", ("atelectasis",)),
)

NORMAL_SENTENCES = ("the lungs are clear", "lungs are well expanded", "no acute cardiopulmonary process",
                    "the mediastinal contours are normal", "osseous structures are intact")
_SEVERITY = {"cardiomegaly": ("mild", "moderate", "marked"), "effusion": ("small", "moderate", "large"),
             "pneumothorax": ("small", "moderate", "large"), "consolidation": ("patchy", "", "extensive"),
             "atelectasis": ("minimal", "mild", "moderate"), "nodule": ("small", "", "")}
#: The severity words of each finding by tercile of severity ("" where none is said); public for report edits.
SEVERITY_WORDS: dict[str, tuple[str, str, str]] = _SEVERITY


@dataclass
class CxrReport:
    """A report and its parts: ``text`` (all sections), ``findings`` and ``impression`` sections alone."""

    text: str
    indication: str
    findings: str
    impression: str

    @property
    def body(self) -> str:
        """The findings and impression sections, as report-generation papers score them."""
        return f"{self.findings} {self.impression}".strip()


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _zone(where_y: float) -> str:
    return "upper" if where_y < 0.4 else ("mid" if where_y < 0.65 else "lower")


def describe(finding: str, severity: float, side: int, where_y: float, rng: np.random.Generator,
             plain: bool = False) -> str:
    """One positive phrase for a finding, with severity, side and zone words where they apply."""
    phrase = POSITIVE[finding][0] if plain else _pick(rng, POSITIVE[finding])
    sev = _SEVERITY[finding][min(2, int(severity * 3))]
    side_w = "right" if side < 0 else "left"
    if finding == "cardiomegaly":
        return f"{sev} {phrase}".strip() if phrase != "enlarged heart" else phrase
    if finding in ("effusion", "pneumothorax"):
        return f"{sev} {side_w} {phrase}".replace("  ", " ").strip()
    if finding in ("consolidation", "atelectasis", "nodule"):
        return f"{sev} {side_w} {_zone(where_y)} zone {phrase}".replace("  ", " ").strip()
    return phrase


def generate_reports(labels: np.ndarray, severity: np.ndarray | None = None, side: np.ndarray | None = None,
                     where: np.ndarray | None = None, *, changes: np.ndarray | None = None, seed: int = 0,
                     negation_prob: float = 0.6, list_negation_prob: float = 0.3, hedge_prob: float = 0.1,
                     false_hedge_prob: float = 0.02, omit_prob: float = 0.05, indication_prob: float = 0.7,
                     name_prob: float = 0.4) -> list[CxrReport]:
    """One report per row of ``labels`` ``(n, K)`` over :data:`medrepro.sim.cxr.FINDINGS`.

    Args:
        labels, severity, side, where: as in :class:`medrepro.sim.cxr.CxrParams` (pass ``batch.params``'s
            arrays, or labels alone for defaults).
        changes: change codes ``(n, K)`` (indices into :data:`medrepro.sim.cxr.CHANGES`) against a prior;
            when given, the report has a comparison and phrases changes ("has increased", "has resolved").
        negation_prob: chance per absent finding of an explicit negation.
        list_negation_prob: chance that the negations of a report are joined into one list sentence
            ("no pleural effusion or pneumothorax"), whose scope a labeller must follow.
        hedge_prob: chance that a present finding is hedged ("possible ..."): uncertain in the text.
        false_hedge_prob: chance per absent finding of a hedge ("cannot exclude ..."): text label noise.
        omit_prob: chance that a present finding is not mentioned: text label noise.
        indication_prob: chance of an indication, which may name a finding the film does not show.
        name_prob: chance that a finding is called by its plain name rather than a synonym.
    """
    lab = np.asarray(labels, bool)
    n, K = lab.shape
    if K != len(FINDINGS):
        raise ValueError(f"labels must have {len(FINDINGS)} columns ({', '.join(FINDINGS)}), got {K}")
    sev = np.full((n, K), 0.5) if severity is None else np.asarray(severity, float)
    sd = np.ones((n, K), int) if side is None else np.asarray(side)
    wh = np.full((n, K, 2), 0.5) if where is None else np.asarray(where)
    rng = np.random.default_rng(seed)
    negate = rng.random((n, K)) < negation_prob
    as_list = rng.random(n) < list_negation_prob
    hedge = rng.random((n, K)) < hedge_prob
    false_hedge = rng.random((n, K)) < false_hedge_prob
    omit = rng.random((n, K)) < omit_prob
    plain = rng.random((n, K)) < name_prob
    has_ind = rng.random(n) < indication_prob
    ind_pick = rng.integers(len(INDICATIONS), size=n)
    reports = []
    for i in range(n):
        pos, neg, neg_names, imp = [], [], [], []
        for k, f in enumerate(FINDINGS):
            ch = CHANGES[int(changes[i, k])] if changes is not None else ("stable" if lab[i, k] else "absent")
            if lab[i, k] and not omit[i, k]:
                text = describe(f, sev[i, k], int(sd[i, k]), float(wh[i, k, 0]), rng, plain=bool(plain[i, k]))
                if hedge[i, k]:
                    text = _pick(rng, HEDGES).format(text)
                elif changes is not None and ch in ("new", "worse", "improved", "stable") and rng.random() < 0.7:
                    text = _pick(rng, CHANGE_WORDS[ch]).format(text)
                pos.append(text)
                imp.append(text)
            elif not lab[i, k]:
                if changes is not None and ch == "resolved":
                    pos.append(_pick(rng, CHANGE_WORDS["resolved"]).format(_pick(rng, POSITIVE[f])))
                elif false_hedge[i, k]:
                    pos.append(_pick(rng, HEDGES).format(POSITIVE[f][0]))
                elif negate[i, k]:
                    neg.append(_pick(rng, NEGATIVE_SENTENCES[f]))
                    neg_names.append(POSITIVE[f][0])
        if as_list[i] and len(neg_names) >= 2:
            listed = ", ".join(neg_names[:-1]) + " or " + neg_names[-1]
            neg = [f"no {listed}"]
        sentences = pos + neg
        if not pos:
            sentences.insert(0, _pick(rng, NORMAL_SENTENCES[:3]))
        if rng.random() < 0.5:
            sentences.append(_pick(rng, NORMAL_SENTENCES[3:]))
        order = rng.permutation(len(pos))
        sentences = [pos[j] for j in order] + sentences[len(pos):]
        findings = ". ".join(sentences) + "."
        impression = ("; ".join(imp) if imp else "no acute cardiopulmonary abnormality") + "."
        indication = INDICATIONS[ind_pick[i]][0] if has_ind[i] else ""
        parts = []
        if indication:
            parts.append(f"INDICATION: {indication}.")
        if changes is not None:
            parts.append("COMPARISON: chest radiograph of the prior study.")
        parts += [f"FINDINGS: {findings}", f"IMPRESSION: {impression}"]
        reports.append(CxrReport(" ".join(parts), indication, findings, impression))
    return reports


def reports_for_batch(batch, *, changes: np.ndarray | None = None, seed: int = 0, **kw) -> list[CxrReport]:
    """:func:`generate_reports` for a :class:`medrepro.sim.cxr.CxrBatch` (its labels, severities, sides, positions)."""
    p = batch.params
    return generate_reports(p.labels, p.severity, p.side, p.where, changes=changes, seed=seed, **kw)
