"""Free-text ECG reports generated from simulated findings, with the mess of real reports.

``generate_reports(batch)`` writes one short machine-style report per record of a
:class:`medrepro.sim.ecg.EcgBatch`: each finding is phrased with one of several synonyms (names,
abbreviations, descriptions of the criterion), absent findings are sometimes negated, statements come in
random order with varied separators, and some reports are wrong: a present finding may be left out
(``omit_prob``) or an absent one mentioned (``false_prob``). Borderline morphology that carries no label
(incomplete bundle branch block, mild ST changes, premature beats, axis deviation, noise) is reported as
real reports do, which adds words that are correlated with, but not identical to, the labels.

Realistic: synonym and abbreviation variety, negations and hedges ("possible", "consider"), omissions,
distractor statements, lower-case machine style.
Not modelled: grammar beyond short statements, numbers other than the heart rate, spelling errors,
languages other than English, comparisons with earlier ECGs.

The string assembly loops over records in Python (strings do not vectorise); the random choices are drawn
for all records at once, so a report depends only on the seed and its record's findings.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: Phrases that state each finding (positive mentions). The first is the plain class name.
POSITIVE: dict[str, tuple[str, ...]] = {
    "NORM": ("normal ecg", "normal electrocardiogram", "within normal limits", "no abnormality detected",
             "normal tracing"),
    "AFIB": ("atrial fibrillation", "afib", "af with irregular ventricular response",
             "irregularly irregular rhythm without p waves", "fibrillatory waves, no discernible p waves",
             "atrial fibrillation with variable ventricular rate"),
    "SBRAD": ("sinus bradycardia", "marked sinus bradycardia", "slow sinus rhythm", "bradycardia",
              "heart rate below 60"),
    "STACH": ("sinus tachycardia", "rapid sinus rhythm", "tachycardia", "heart rate above 100"),
    "AVB1": ("first degree av block", "1st degree atrioventricular block", "prolonged pr interval",
             "av conduction delay", "long pr"),
    "BBB": ("bundle branch block", "right bundle branch block", "left bundle branch block", "rbbb", "lbbb",
            "wide qrs complex", "intraventricular conduction delay with broad qrs"),
    "STE": ("st elevation", "st segment elevation", "acute injury pattern", "st elevation, consider acute infarct",
            "elevated st segments"),
    "STD": ("st depression", "st segment depression", "t wave inversion", "ischemic st-t changes",
            "downsloping st depression"),
    "QMI": ("old myocardial infarction", "pathological q waves", "old infarct", "q waves, age undetermined infarct",
            "prior infarction"),
    "LVH": ("left ventricular hypertrophy", "lvh", "lvh by voltage criteria", "increased qrs voltage",
            "left ventricular hypertrophy with repolarization abnormality"),
}

#: Phrases that deny a finding.
NEGATIVE: dict[str, tuple[str, ...]] = {
    "AFIB": ("no atrial fibrillation", "no af"),
    "AVB1": ("normal pr interval", "no av block"),
    "BBB": ("normal qrs duration", "no bundle branch block"),
    "STE": ("no st elevation", "no acute st changes"),
    "STD": ("no st depression", "no ischemic changes"),
    "QMI": ("no q waves", "no evidence of infarction"),
    "LVH": ("normal voltage", "no lvh"),
}

_HEDGES = ("possible ", "consider ", "probable ", "borderline ")
_SEPARATORS = (". ", "; ", ", ")


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def generate_reports(
    batch,
    *,
    seed: int = 0,
    omit_prob: float = 0.15,
    false_prob: float = 0.01,
    negation_prob: float = 0.1,
    hedge_prob: float = 0.1,
    name_prob: float = 0.35,
    distractor_prob: float = 0.6,
) -> list[str]:
    """One free-text report per record of ``batch`` (an ``EcgBatch``).

    Args:
        seed: seeds every random choice.
        omit_prob: chance that a present finding is left out of the report (label noise).
        false_prob: chance per absent finding that it is mentioned anyway (label noise).
        negation_prob: chance per absent finding of a negation ("no st elevation").
        hedge_prob: chance that a positive mention is hedged ("possible lvh").
        name_prob: chance that a positive mention uses the plain class name (the first synonym);
            otherwise one of the other phrasings is used.
        distractor_prob: chance of each applicable unlabelled statement (axis, incomplete block,
            borderline ST, premature beats, noise, sinus rhythm).

    Returns:
        A list of lower-case reports, one per record.
    """
    from .ecg import FINDINGS

    rng = np.random.default_rng(seed)
    labels = np.asarray(batch.labels, dtype=bool)
    n = len(labels)
    names = list(batch.findings)
    missing = [f for f in FINDINGS if f not in names]
    if missing:
        raise ValueError(f"the batch lacks findings {missing}")
    # all random draws up front, per record and finding
    omit = rng.random((n, len(names))) < omit_prob
    false = rng.random((n, len(names))) < false_prob
    negate = rng.random((n, len(names))) < negation_prob
    hedge = rng.random((n, len(names))) < hedge_prob
    plain = rng.random((n, len(names))) < name_prob
    distract = rng.random((n, 6)) < distractor_prob
    order_keys = rng.random((n, len(names) + 8))
    sep = rng.integers(len(_SEPARATORS), size=n)
    meta = getattr(batch, "meta", {}) or {}
    bbb_type = np.asarray(meta.get("bbb_type", np.zeros(n, int)))
    incomplete = np.asarray(meta.get("bbb_incomplete", np.zeros(n, bool)))
    st_mv = np.asarray(meta.get("st_mV", np.zeros(n)))
    axis = np.asarray(meta.get("axis_deg", np.zeros(n)))
    ectopic = np.asarray(meta.get("ectopic_beats", np.zeros(n, int)))
    noisy = np.asarray(meta.get("noise_sd_mV", np.zeros(n))) > 0.06
    hr = np.asarray(batch.intervals.get("hr_bpm", np.full(n, np.nan)))
    reports = []
    for i in range(n):
        parts: list[tuple[float, str]] = []
        k = 0
        for j, name in enumerate(names):
            present = bool(labels[i, j])
            mention = (present and not omit[i, j]) or (not present and false[i, j] and name != "NORM")
            if mention:
                if plain[i, j]:
                    text = POSITIVE[name][0]
                else:
                    options = POSITIVE[name][1:]
                    if name == "BBB" and bbb_type[i] in (1, 2):  # right/left type words match the morphology
                        side = "right" if bbb_type[i] == 1 else "left"
                        abbrev = "rbbb" if bbb_type[i] == 1 else "lbbb"
                        options = tuple(o for o in options if ("right" not in o and "left" not in o
                                                               and o not in ("rbbb", "lbbb"))
                                        or side in o or o == abbrev)
                    text = _pick(rng, options)
                if hedge[i, j] and name not in ("NORM",):
                    text = _HEDGES[int(rng.integers(len(_HEDGES)))] + text
                parts.append((order_keys[i, k], text))
            elif not present and name in NEGATIVE and negate[i, j]:
                parts.append((order_keys[i, k], _pick(rng, NEGATIVE[name])))
            k += 1
        # rhythm statement and unlabelled, correlated statements (distractors)
        sinus = not labels[i, names.index("AFIB")]
        if sinus and distract[i, 0] and not labels[i, names.index("SBRAD")] and not labels[i, names.index("STACH")]:
            parts.append((-1.0, _pick(rng, ("sinus rhythm", "normal sinus rhythm", "regular sinus rhythm"))))
        if distract[i, 1] and np.isfinite(hr[i]):
            parts.append((order_keys[i, k], f"rate {int(round(hr[i]))}"))
        if incomplete[i] and distract[i, 2]:
            side = "right" if bbb_type[i] == 1 else "left"
            parts.append((order_keys[i, k + 1], _pick(rng, (f"incomplete {side} bundle branch block",
                                                            "borderline qrs widening", "rsr' pattern in v1"))))
        if 0 < abs(st_mv[i]) < 0.08 and distract[i, 3]:
            parts.append((order_keys[i, k + 2], _pick(rng, ("nonspecific st-t changes", "minor st changes",
                                                            "borderline st abnormality"))))
        if ectopic[i] > 0 and distract[i, 4]:
            parts.append((order_keys[i, k + 3], _pick(rng, ("occasional premature beats", "premature ventricular "
                                                            "complexes", "atrial premature complexes",
                                                            "ectopic beats"))))
        if distract[i, 5]:
            if axis[i] < -30:
                parts.append((order_keys[i, k + 4], "left axis deviation"))
            elif axis[i] > 40:
                parts.append((order_keys[i, k + 4], "right axis deviation"))
        if noisy[i] and distract[i, 5]:
            parts.append((order_keys[i, k + 5], _pick(rng, ("poor data quality", "baseline artifact",
                                                            "muscle artifact"))))
        if not parts:
            parts.append((0.0, "see tracing"))
        parts.sort(key=lambda p: p[0])
        reports.append(_SEPARATORS[sep[i]].join(p[1] for p in parts))
    return reports
