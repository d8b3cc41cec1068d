"""Class prompts for zero-shot classification, read from the files that papers release.

MERL (Liu et al., ICML 2024) releases its CKEPE prompts as ``zeroshot/CKEPE_prompt.json`` in the official
repository (github.com/cheliu-computation/MERL-ICML2024): one JSON object whose keys are class labels (PTB-XL
statements and super-classes such as ``NORM``, ``MI``, ``STTC``, ``CD``, ``HYP``, and the labels of the other
test sets) and whose values are one prompt string each, a comma-separated list of the class, its subtypes and
attributes. The official zero-shot code (``utils/zeroshot_val.py``) looks each test-set class up by its label
and lower-cases the prompt before tokenising it. The file is not shipped with medrepro; a user who has
the repository passes its path.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence


class PromptFileError(ValueError):
    """A prompt file that cannot be read, is not a label → prompt object, or lacks a class."""


def read_ckepe_prompts(path: str | os.PathLike[str], classes: Sequence[str], *, lower: bool = True) -> list[str]:
    """The prompt of each of ``classes`` from a file in the format of MERL's ``CKEPE_prompt.json``.

    Args:
        path: the JSON file (an object mapping class label → prompt string).
        classes: the class labels, in the order the scores should have (e.g. ``ptbxl.SUPERCLASSES``).
        lower: lower-case each prompt, as the official zero-shot code does.

    Returns:
        One prompt string per class, in the order of ``classes``.

    Raises:
        FileNotFoundError: no file at ``path``.
        PromptFileError: the file is not valid JSON, is not an object of strings, or lacks a class (all
            missing labels are named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prompt file not found: {path} (MERL's is zeroshot/CKEPE_prompt.json in "
                                "github.com/cheliu-computation/MERL-ICML2024)")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PromptFileError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(table, dict):
        raise PromptFileError(f"{path}: expected a JSON object mapping class label to prompt, got "
                              f"{type(table).__name__}")
    missing = [c for c in classes if c not in table]
    if missing:
        raise PromptFileError(f"{path}: no prompt for {missing}; the file has {len(table)} labels, e.g. "
                              f"{sorted(table)[:8]}")
    bad = [c for c in classes if not isinstance(table[c], str) or not table[c].strip()]
    if bad:
        raise PromptFileError(f"{path}: the prompt of {bad} is not a non-empty string")
    return [table[c].lower() if lower else table[c] for c in classes]
