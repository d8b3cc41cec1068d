"""Reading class prompts in the format of MERL's released CKEPE_prompt.json (a label → prompt object)."""
from __future__ import annotations

import json

import pytest

from medrepro.prompts import PromptFileError, read_ckepe_prompts


def _write(tmp_path, obj, name="prompts.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=8), encoding="utf-8")
    return path


def test_reads_the_classes_in_order_and_lower_cases_like_the_official_code(tmp_path):
    # made-up prompts in the official layout: one object, labels as keys, one comma-separated string each
    path = _write(tmp_path, {"NORM": "Normal ECG, Sinus Rhythm.", "MI": "Myocardial Infarction, Q Waves.",
                             "STTC": "ST-T Change.", "CD": "Conduction Disturbance.", "HYP": "Hypertrophy.",
                             "AFIB": "Atrial Fibrillation."})
    got = read_ckepe_prompts(path, ["HYP", "NORM", "MI", "STTC", "CD"])
    assert got == ["hypertrophy.", "normal ecg, sinus rhythm.", "myocardial infarction, q waves.", "st-t change.",
                   "conduction disturbance."]
    assert read_ckepe_prompts(path, ["MI"], lower=False) == ["Myocardial Infarction, Q Waves."]


def test_missing_classes_are_named(tmp_path):
    path = _write(tmp_path, {"NORM": "normal ecg", "MI": "myocardial infarction"})
    with pytest.raises(PromptFileError, match=r"no prompt for \['STTC', 'HYP'\]"):
        read_ckepe_prompts(path, ["NORM", "STTC", "MI", "HYP"])


@pytest.mark.parametrize("content, match", [("{not json", "not a JSON file"), ('["a", "b"]', "expected a JSON object"),
                                             ('{"NORM": 3}', "not a non-empty string")])
def test_bad_files_say_what_is_wrong(tmp_path, content, match):
    with pytest.raises(PromptFileError, match=match):
        read_ckepe_prompts(_write(tmp_path, content), ["NORM"])


def test_no_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="CKEPE_prompt.json"):
        read_ckepe_prompts(tmp_path / "absent.json", ["NORM"])
