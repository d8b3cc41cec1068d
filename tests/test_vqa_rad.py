"""VQA-RAD loader, predictions, scoring and baselines; the free-text answer parsers; report facts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from medrepro.data.datasets import vqa_rad
from medrepro.text.answers import count_reasons, normalise_answer, parse_box, parse_yes_no
from medrepro.text.report_facts import fact_f1, report_facts


@pytest.mark.parametrize("text, answer, reason", [
    ("Yes.", "yes", "ok"), ("no", "no", "ok"), ("No, but there is a small effusion.", "no", "ok"),
    ("There is no pleural effusion.", "no", "ok"), ("A pneumothorax is present.", "yes", "ok"),
    ("It is absent.", "no", "ok"), ("No evidence of consolidation.", "no", "ok"),
    ("I cannot determine this from the image.", None, "refusal"), ("Possibly; hard to say.", None, "none"),
    ("", None, "empty"), (None, None, "empty"), ("There is evidence of it, not normal.", None, "both"),
])
def test_parse_yes_no(text, answer, reason):
    assert parse_yes_no(text) == (answer, reason)


def test_parse_box_conventions_and_failures():
    b, why = parse_box("The nodule lies within [10.5, 12, 30, 40].", 64)
    assert why == "ok" and np.allclose(b, [10.5, 12, 30, 40])
    b, why = parse_box("x0=10, y0=12, x1=30, y1=40", 64)            # digits of the names are not numbers
    assert why == "ok" and np.allclose(b, [10, 12, 30, 40])
    b, why = parse_box("(0.1, 0.2, 0.5, 0.75)", (100, 200))
    assert why == "normalised" and np.allclose(b, [10, 40, 50, 150])
    assert parse_box("in the left upper zone", 64) == (None, "no_box")
    assert parse_box("[30, 10, 20, 40]", 64) == (None, "inverted")
    assert parse_box("[10, 10, 200, 40]", 64) == (None, "out_of_range")
    assert parse_box("I'm sorry, I cannot provide 4 coordinates", 64)[1] in ("refusal", "no_box")
    assert count_reasons(["ok", "ok", "no_box"], ("ok", "no_box", "inverted")) == {"ok": 2, "no_box": 1, "inverted": 0}
    with pytest.raises(ValueError):
        count_reasons(["weird"], ("ok",))


def test_normalise_answer():
    assert normalise_answer("The Left lung!") == "left lung"
    assert normalise_answer(None) == ""


def test_report_facts_see_side_severity_and_negation():
    ref = report_facts("large left pleural effusion. no pneumothorax. moderate cardiomegaly.", use_sections=False)
    assert ref == {("effusion", "positive", "left", "large"), ("cardiomegaly", "positive", "", "moderate")}
    same = report_facts("moderate cardiomegaly. large left pleural fluid.", use_sections=False)
    assert fact_f1(ref, same) == 1.0
    assert fact_f1(ref, report_facts("enlarged heart. large left pleural effusion.", use_sections=False)) == 1.0
    for wrong in ("large right pleural effusion. moderate cardiomegaly.",       # side
                  "small left pleural effusion. moderate cardiomegaly.",        # severity
                  "no large left pleural effusion. moderate cardiomegaly.",     # negation
                  "moderate cardiomegaly.",                                     # omission
                  "large left pleural effusion. moderate cardiomegaly. small right pneumothorax."):  # hallucination
        assert fact_f1(ref, report_facts(wrong, use_sections=False)) < 1.0, wrong
    assert fact_f1(frozenset(), frozenset()) == 1.0


def test_fixture_loads_scores_and_baselines(tmp_path):
    root = vqa_rad.make_fixture(tmp_path / "vqa", seed=0)
    test = vqa_rad.load(root, split="test", read_images=True)
    train = vqa_rad.load(root, split="train")
    assert len(test) and len(train) and all(it.split == "test" for it in test.items)
    assert all(im.shape == (64, 64) and 0 <= im.min() and im.max() <= 1 for im in test.images.values())
    perfect = {it.qid: it.answer for it in test.items}
    s = vqa_rad.score(test.items, perfect)
    assert s["closed_accuracy"] == 1.0 and s["missing"] == 0
    assert np.isnan(s["open_accuracy"]) or s["open_accuracy"] == 1.0
    s = vqa_rad.score(test.items, {})
    assert s["missing"] == len(test) and s["overall_accuracy"] == 0.0
    assert s["closed_parse"]["empty"] == s["n_closed"]
    base = vqa_rad.baselines(train.items, test.items)
    assert set(base) == {"always_yes", "majority_per_type"}
    assert all(base["always_yes"][it.qid] == "yes" for it in test.items if it.answer_type == "CLOSED")


def test_predictions_file_and_errors(tmp_path):
    p = tmp_path / "pred.jsonl"
    p.write_text('{"qid": 1, "answer": "Yes"}\n\n{"qid": "2", "answer": null}\n')
    assert vqa_rad.read_predictions(p) == {"1": "Yes", "2": ""}
    p.write_text('{"qid": 1, "answer": "Yes"}\n{"qid": 1, "answer": "No"}\n')
    with pytest.raises(vqa_rad.VqaRadFormatError, match=r"pred.jsonl:2: qid 1 appears twice"):
        vqa_rad.read_predictions(p)
    p.write_text('{"qid": 1}\n')
    with pytest.raises(vqa_rad.VqaRadFormatError, match="pred.jsonl:1"):
        vqa_rad.read_predictions(p)
    with pytest.raises(FileNotFoundError):
        vqa_rad.read_predictions(tmp_path / "missing.jsonl")


def test_loader_errors_name_what_and_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="VQA_RAD Dataset Public.json"):
        vqa_rad.load(tmp_path)
    (tmp_path / vqa_rad.QUESTIONS).write_text("{not json")
    with pytest.raises(vqa_rad.VqaRadFormatError, match="not valid JSON"):
        vqa_rad.load(tmp_path)
    (tmp_path / vqa_rad.QUESTIONS).write_text(json.dumps([{"qid": 1, "image_name": "a.jpg", "question": "q"}]))
    with pytest.raises(vqa_rad.VqaRadFormatError, match=r"\[0\].*lacks \['answer', 'answer_type'\]"):
        vqa_rad.load(tmp_path)
    rec = {"qid": 1, "image_name": "a.jpg", "question": "q", "answer": 3, "answer_type": "CLOSED ",
           "phrase_type": "test_para"}
    (tmp_path / vqa_rad.QUESTIONS).write_text(json.dumps([rec]))
    data = vqa_rad.load(tmp_path)
    assert data.items[0].answer == "3" and data.items[0].answer_type == "CLOSED"
    with pytest.raises(FileNotFoundError, match="a.jpg"):
        vqa_rad.load(tmp_path, read_images=True)
    (tmp_path / vqa_rad.IMAGES).mkdir()
    (tmp_path / vqa_rad.IMAGES / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(vqa_rad.VqaRadFormatError, match="a.jpg"):
        vqa_rad.load(tmp_path, read_images=True)
    rec["answer_type"] = "MAYBE"
    (tmp_path / vqa_rad.QUESTIONS).write_text(json.dumps([rec]))
    with pytest.raises(vqa_rad.VqaRadFormatError, match="MAYBE"):
        vqa_rad.load(tmp_path)


def test_closed_question_with_a_non_yes_no_answer_scores_by_match():
    items = [vqa_rad.VqaRadItem("1", "a.jpg", "Is it on the left or the right?", "Left", "CLOSED"),
             vqa_rad.VqaRadItem("2", "a.jpg", "Is there an effusion?", "yes", "CLOSED")]
    s = vqa_rad.score(items, {"1": "left", "2": "Yes, there is."})
    assert s["closed_accuracy"] == 1.0 and s["closed_parse"]["ok"] == 1
    assert vqa_rad.score(items, {"1": "no", "2": "No."})["closed_accuracy"] == 0.0
