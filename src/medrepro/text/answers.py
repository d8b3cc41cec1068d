"""Parsers for the free-text answers of a chat model: yes/no for closed questions, boxes written as text.

A prompted vision-language model (GPT-4V in Li et al. 2023) answers in sentences, not in a label space: "Yes,
there is a small left pleural effusion.", "No evidence of pneumothorax.", "I cannot determine this from the
image.", "The bounding box is [0.12, 0.40, 0.35, 0.62]." Scoring such answers needs a parser, and every answer
the parser cannot read must be *counted* as a failure of its own kind, never silently dropped: dropping them
raises the accuracy of a model that refuses the hard questions.

- :func:`parse_yes_no` — ``("yes" | "no" | None, reason)``; reasons for ``None``: ``"empty"``,
  ``"refusal"`` (a statement that it cannot tell), ``"both"`` (yes and no words in the same answer) and
  ``"none"`` (neither).
- :func:`parse_box` — the first box ``(x0, y0, x1, y1)`` written in the text, in pixels, with its reason:
  ``"ok"``, ``"normalised"`` (four numbers in [0, 1], read as fractions of the image side and scaled),
  ``"empty"``, ``"refusal"``, ``"no_box"`` (fewer than four numbers), ``"inverted"`` (x1 <= x0 or y1 <= y0)
  or ``"out_of_range"`` (outside the image).
- :func:`normalise_answer` — lower case, articles and punctuation removed: the exact-match key of open
  questions.
- :func:`count_reasons` — how many answers fell into each reason.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

#: Phrases by which a model declines to answer (checked before the yes/no words).
REFUSALS: tuple[str, ...] = ("cannot determine", "can't determine", "cannot be determined", "unable to determine",
                             "not possible to determine", "cannot tell", "can't tell", "unable to tell",
                             "cannot assess", "unable to assess", "i'm sorry", "i am sorry", "cannot provide",
                             "not able to", "consult a", "as an ai")
_YES = re.compile(r"\b(yes|yeah|present|positive|there is|there are|is seen|are seen|is present|are present|"
                  r"shows|demonstrates|evidence of)\b")
_NO = re.compile(r"\b(no|not|absent|negative|without|none|neither|nor|normal)\b")
_FIRST_WORD = re.compile(r"^\W*(yes|no)\b")
_NUMBER = re.compile(r"(?<![a-z0-9_.])-?\d+(?:\.\d+)?")   # not the digit of a name such as x0 or y1
_ARTICLES = re.compile(r"\b(a|an|the)\b")

YES_NO_REASONS = ("ok", "empty", "refusal", "both", "none")
BOX_REASONS = ("ok", "normalised", "empty", "refusal", "no_box", "inverted", "out_of_range")


def parse_yes_no(text: str | None) -> tuple[str | None, str]:
    """Read a closed (yes/no) answer from free text: ``(answer, reason)``.

    An answer that *starts* with "yes" or "no" is read from that word ("No, but there is ..."). Otherwise a
    refusal phrase gives ``None``/``"refusal"``; then negation words ("no", "not", "absent", "without", ...)
    give "no" unless affirmative phrases ("there is", "present", ...) without negation are also there; an
    answer with both kinds of words and no leading yes/no is ``"both"`` (ambiguous), one with neither is
    ``"none"``.
    """
    if text is None or not str(text).strip():
        return None, "empty"
    t = " ".join(str(text).lower().split())
    m = _FIRST_WORD.match(t)
    if m:
        return m.group(1), "ok"
    if any(r in t for r in REFUSALS):
        return None, "refusal"
    has_no, has_yes = bool(_NO.search(t)), bool(_YES.search(t))
    if has_no and not has_yes:
        return "no", "ok"
    if has_yes and not has_no:
        return "yes", "ok"
    if has_no and has_yes:
        # "there is no effusion", "no evidence of ...": a negation that governs the affirmative phrase
        if re.search(r"\b(there is no|there are no|no evidence of|is not seen|are not seen|not present|is absent)\b", t):
            return "no", "ok"
        return None, "both"
    return None, "none"


def parse_box(text: str | None, size: int | tuple[int, int]) -> tuple[np.ndarray | None, str]:
    """The first box written in ``text`` as four numbers ``x0, y0, x1, y1``, in pixels of an image of ``size``.

    Four numbers all within [0, 1] (with at least one fractional) are read as fractions of the image width and
    height (reason ``"normalised"``: the answer used another convention than the prompt asked for; the box is
    kept but the convention is counted). A box that is inverted or extends beyond the image by more than one
    pixel is rejected with its reason.
    """
    w, h = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if text is None or not str(text).strip():
        return None, "empty"
    t = str(text).lower()
    nums = [float(x) for x in _NUMBER.findall(t)]
    if len(nums) < 4:
        return None, ("refusal" if any(r in t for r in REFUSALS) else "no_box")
    b = np.array(nums[:4], float)
    reason = "ok"
    if (b >= 0).all() and (b <= 1).all() and any(not float(x).is_integer() for x in b):
        b = b * np.array([w, h, w, h], float)
        reason = "normalised"
    if b[2] <= b[0] or b[3] <= b[1]:
        return None, "inverted"
    if b.min() < -1 or b[0] > w + 1 or b[2] > w + 1 or b[1] > h + 1 or b[3] > h + 1:
        return None, "out_of_range"
    return b, reason


def normalise_answer(text: str | None) -> str:
    """Exact-match key of an open answer: lower case, no articles, no punctuation, single spaces."""
    if text is None:
        return ""
    t = re.sub(r"[^a-z0-9 ]+", " ", str(text).lower())
    return " ".join(_ARTICLES.sub(" ", t).split())


def count_reasons(reasons: Iterable[str], kinds: Sequence[str]) -> dict[str, int]:
    """Counts of each reason, every kind listed (zero when absent); unknown reasons raise."""
    c = Counter(reasons)
    unknown = set(c) - set(kinds)
    if unknown:
        raise ValueError(f"unknown reasons {sorted(unknown)}; expected some of {list(kinds)}")
    return {k: int(c.get(k, 0)) for k in kinds}
