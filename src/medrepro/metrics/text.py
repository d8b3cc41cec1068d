"""Report-generation metrics: BLEU, ROUGE-L and CIDEr-D, and the clinical-efficacy F1 beside them.

- :func:`bleu` — corpus BLEU-n (Papineni et al. 2002): clipped n-gram precisions pooled over the corpus,
  their geometric mean, a brevity penalty against the closest reference length. Smoothing ``"none"``,
  ``"method1"`` (ε = 0.1 added to a zero count) and ``"method2"`` (add one to numerator and denominator
  for n > 1) follow ``nltk.translate.bleu_score.SmoothingFunction`` (tested against ``corpus_bleu`` and
  ``sentence_bleu`` with the same smoothing).
- :func:`rouge_l` — ROUGE-L (Lin 2004): LCS-based precision and recall, F with ``beta`` (1 as in
  Google's ``rouge-score``; 1.2 in the COCO caption code), the best over references; tested against
  ``rouge-score``.
- :func:`cider_d` — CIDEr-D (Vedantam et al. 2015) as the COCO caption evaluation defines it: TF-IDF
  vectors of 1-4-grams with document frequencies over the references of the evaluated corpus, clipped
  cosine similarity, a Gaussian length penalty (σ = 6) on the difference of the bigram counts (the COCO
  code's choice of "length"), the mean over n and over references, times 10. Tested against values worked
  by hand from this definition.
- :func:`clinical_f1` — precision, recall and F1 of the findings a labeller extracts from generated
  reports against those it extracts from the references (clinical efficacy, CE).

Tokenisation (:func:`tokenize`) lower-cases and splits on anything that is not a letter or a digit, as
``rouge-score``'s default tokenizer does; the COCO code uses the PTB tokenizer, so absolute values differ
from published ones.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

import numpy as np

SMOOTHINGS = ("none", "method1", "method2")


def tokenize(text: str) -> list[str]:
    """Lower-case tokens of letters and digits (rouge-score's default tokenisation, without stemming)."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _tok(x: str | Sequence[str]) -> list[str]:
    return tokenize(x) if isinstance(x, str) else list(x)


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu(references: Sequence[Sequence[str | Sequence[str]]], hypotheses: Sequence[str | Sequence[str]], *,
         max_n: int = 4, smoothing: str = "method1", epsilon: float = 0.1) -> float:
    """Corpus BLEU-``max_n`` with uniform weights.

    Args:
        references: for each hypothesis, a list of references (strings, or token lists).
        hypotheses: one string (or token list) per item.
        smoothing: ``"none"`` (0 when any n-gram order has no match, as nltk), ``"method1"``, ``"method2"``.
    """
    if smoothing not in SMOOTHINGS:
        raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference lists for {len(hypotheses)} hypotheses")
    num, den = np.zeros(max_n), np.zeros(max_n)
    hyp_len = ref_len = 0
    for refs, hyp in zip(references, hypotheses):
        h = _tok(hyp)
        rs = [_tok(r) for r in refs]
        if not rs:
            raise ValueError("every hypothesis needs at least one reference")
        for n in range(1, max_n + 1):
            hc = _ngrams(h, n)
            best = Counter()
            for r in rs:
                best |= _ngrams(r, n)                       # the maximum count of each n-gram over references
            num[n - 1] += sum(min(c, best[g]) for g, c in hc.items())
            den[n - 1] += max(1, len(h) - n + 1)
        hyp_len += len(h)
        ref_len += min((abs(len(r) - len(h)), len(r)) for r in rs)[1]   # closest length, the shorter on ties
    if num[0] == 0:
        return 0.0
    p = num / den
    if smoothing == "none":
        if (num == 0).any():
            return 0.0
    elif smoothing == "method1":
        p = np.where(num == 0, epsilon / den, p)
    elif smoothing == "method2":
        p[1:] = (num[1:] + 1) / (den[1:] + 1)
    bp = 1.0 if hyp_len > ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    return float(bp * math.exp(np.mean(np.log(p))))


def sentence_bleu(references: Sequence[str | Sequence[str]], hypothesis: str | Sequence[str], **kw) -> float:
    """BLEU of one hypothesis against its references (corpus BLEU of a corpus of one)."""
    return bleu([references], [hypothesis], **kw)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l(reference: str | Sequence[str], hypothesis: str, *, beta: float = 1.0) -> float:
    """ROUGE-L F of one hypothesis against a reference string, or the best of a list of reference strings."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    h = tokenize(hypothesis)
    best = 0.0
    for r in refs:
        rt = tokenize(r)
        lcs = _lcs(rt, h)
        if lcs == 0:
            continue
        prec, rec = lcs / len(h), lcs / len(rt)
        best = max(best, (1 + beta ** 2) * prec * rec / (rec + beta ** 2 * prec))
    return best


def mean_rouge_l(references: Sequence[str], hypotheses: Sequence[str], *, beta: float = 1.0) -> np.ndarray:
    """ROUGE-L F per pair (one reference each), as an array (average it, or bootstrap it)."""
    return np.array([rouge_l(r, h, beta=beta) for r, h in zip(references, hypotheses)])


def cider_d(references: Sequence[Sequence[str | Sequence[str]]], hypotheses: Sequence[str | Sequence[str]], *,
            n: int = 4, sigma: float = 6.0) -> tuple[float, np.ndarray]:
    """CIDEr-D of a corpus: ``(mean score, score per item)``; document frequencies come from its references."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference lists for {len(hypotheses)} hypotheses")
    grams = lambda toks: Counter(g for k in range(1, n + 1) for g in _ngrams(toks, k))  # noqa: E731
    refs = [[grams(_tok(r)) for r in rs] for rs in references]
    hyps = [grams(_tok(h)) for h in hypotheses]
    df: Counter = Counter()
    for rs in refs:                                        # an n-gram counts once per item (image)
        df.update(set(g for r in rs for g in r))
    log_n = math.log(float(len(refs))) if refs else 0.0

    def vec(c: Counter):
        v = [dict() for _ in range(n)]
        norm = np.zeros(n)
        length = 0
        for g, tf in c.items():
            k = len(g) - 1
            v[k][g] = tf * (log_n - math.log(max(1.0, df[g])))     # tf · idf
            norm[k] += v[k][g] ** 2
            if k == 1:
                length += tf                                        # the COCO code's "length": bigram count
        return v, np.sqrt(norm), length

    scores = np.zeros(len(hyps))
    for i, (h, rs) in enumerate(zip(hyps, refs)):
        vh, nh, lh = vec(h)
        total = np.zeros(n)
        for r in rs:
            vr, nr, lr = vec(r)
            val = np.zeros(n)
            for k in range(n):
                val[k] = sum(min(w, vr[k].get(g, 0.0)) * vr[k].get(g, 0.0) for g, w in vh[k].items())
                if nh[k] != 0 and nr[k] != 0:
                    val[k] /= nh[k] * nr[k]
            total += val * math.exp(-((lh - lr) ** 2) / (2 * sigma ** 2))
        scores[i] = 10.0 * total.mean() / len(rs)
    return float(scores.mean()) if len(scores) else 0.0, scores


def clinical_f1(reference_labels: np.ndarray, hypothesis_labels: np.ndarray, *, average: str = "micro") -> dict:
    """Precision, recall and F1 of binary finding labels of generated reports against the references'.

    ``average="micro"`` pools every (report, finding) pair; ``"example"`` averages per report (a report
    with neither reference nor predicted positives scores 1); ``"macro"`` averages per finding.
    """
    y = np.asarray(reference_labels, bool)
    p = np.asarray(hypothesis_labels, bool)
    if y.shape != p.shape:
        raise ValueError(f"label arrays differ in shape: {y.shape} vs {p.shape}")
    axis = {"micro": None, "example": 1, "macro": 0}.get(average)
    if average not in ("micro", "example", "macro"):
        raise ValueError(f"average must be micro, example or macro, got {average!r}")
    tp = (y & p).sum(axis=axis)
    fp = (~y & p).sum(axis=axis)
    fn = (y & ~p).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        prec = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 1.0 if average == "example" else 0.0)
        rec = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 1.0 if average == "example" else 0.0)
        f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0.0)
    return {"precision": float(np.mean(prec)), "recall": float(np.mean(rec)), "f1": float(np.mean(f1))}


def bleu_weighted(references: Sequence[Sequence[str | Sequence[str]]], hypotheses: Sequence[str | Sequence[str]],
                  weights: np.ndarray, *, max_n: int = 4, epsilon: float = 0.1) -> np.ndarray:
    """Corpus BLEU-``max_n`` (``method1`` smoothing, as :func:`bleu`) under each row of item weights ``(B, n)``.

    A corpus BLEU is a function of per-item counts (clipped n-gram matches, n-gram totals, hypothesis and closest
    reference lengths), so a bootstrap over items (``medrepro.metrics.bootstrap_weights``, patients as groups) is
    a weighted sum of those counts: one pass instead of one :func:`bleu` per resample. A row of ones gives
    :func:`bleu` exactly.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} reference lists for {len(hypotheses)} hypotheses")
    w = np.atleast_2d(np.asarray(weights, float))
    if w.shape[1] != len(hypotheses):
        raise ValueError(f"weights have {w.shape[1]} columns for {len(hypotheses)} items")
    num, den = np.zeros((len(hypotheses), max_n)), np.zeros((len(hypotheses), max_n))
    hyp_len, ref_len = np.zeros(len(hypotheses)), np.zeros(len(hypotheses))
    for i, (refs, hyp) in enumerate(zip(references, hypotheses)):
        h, rs = _tok(hyp), [_tok(r) for r in refs]
        if not rs:
            raise ValueError("every hypothesis needs at least one reference")
        for n in range(1, max_n + 1):
            best = Counter()
            for r in rs:
                best |= _ngrams(r, n)
            num[i, n - 1] = sum(min(c, best[g]) for g, c in _ngrams(h, n).items())
            den[i, n - 1] = max(1, len(h) - n + 1)
        hyp_len[i] = len(h)
        ref_len[i] = min((abs(len(r) - len(h)), len(r)) for r in rs)[1]
    N, D, HL, RL = w @ num, w @ den, w @ hyp_len, w @ ref_len
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(N == 0, epsilon / D, N / D)
        bp = np.where(HL > RL, 1.0, np.where(HL > 0, np.exp(1 - RL / np.maximum(HL, 1e-12)), 0.0))
        out = bp * np.exp(np.mean(np.log(p), axis=1))
    return np.where(N[:, 0] == 0, 0.0, out)
