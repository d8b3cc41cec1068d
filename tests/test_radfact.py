"""RadFact-lite (medrepro.metrics.radfact) and box tokens (medrepro.text.box_tokens).

The box part is checked against a transcription of microsoft/RadFact's ``metric/box_metrics.py``
(commit 72463ac, MIT licence); the aggregation against the definitions of its ``metric/radfact.py`` and
``metric/schema.py``, on hand-made reports whose scores are worked out by hand.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from medrepro.metrics.radfact import (
    GroundedSentence, aggregate, box_mask, box_metrics, entailment, f1, radfact_lite, sentence_facts,
)
from medrepro.text import box_tokens


# ---- a transcription of RadFact's box_metrics.py (get_mask_from_boxes, compute_box_metrics), for comparison
def _radfact_mask(boxes, mask_size=224):
    mask = np.zeros((mask_size, mask_size), dtype=np.bool_)
    for box in boxes:
        x1, y1, x2, y2 = (np.array(box) * mask_size).astype(int)
        mask[x1:x2, y1:y2] = True
    return mask


def _radfact_box_metrics(pred_boxes, true_boxes, mask_size):
    pred_mask = _radfact_mask(pred_boxes, mask_size)
    true_mask = _radfact_mask(true_boxes, mask_size)
    pred_area = pred_mask.sum()
    true_area = true_mask.sum()
    intersection_area = (pred_mask & true_mask).sum()
    union_area = (pred_mask | true_mask).sum()
    iou = intersection_area / union_area
    precision = intersection_area / pred_area if pred_area > 0 else np.nan
    recall = intersection_area / true_area if true_area > 0 else np.nan
    return {"iou": iou, "precision": precision, "recall": recall}


def _random_boxes(rng, k):
    lo = rng.uniform(0, 0.8, (k, 2))
    hi = np.minimum(1.0, lo + rng.uniform(0.01, 0.5, (k, 2)))
    return [tuple(map(float, (a[0], a[1], b[0], b[1]))) for a, b in zip(lo, hi)]


@pytest.mark.parametrize("seed", range(20))
def test_box_metrics_match_radfact(seed):
    rng = np.random.default_rng(seed)
    pred, true = _random_boxes(rng, rng.integers(1, 4)), _random_boxes(rng, rng.integers(1, 4))
    size = int(rng.choice([32, 100, 224]))
    ours, ref = box_metrics(pred, true, size), _radfact_box_metrics(pred, true, size)
    for k in ("iou", "precision", "recall"):
        assert ours[k] == pytest.approx(float(ref[k]), abs=1e-12) or (math.isnan(ours[k]) and np.isnan(ref[k]))
    assert (box_mask(pred, size) == _radfact_mask(pred, size)).all()


def test_box_metrics_edge_cases():
    # a box thinner than a mask pixel has no area: precision NaN, as in RadFact
    m = box_metrics([(0.5, 0.5, 0.501, 0.6)], [(0.0, 0.0, 1.0, 1.0)], 224)
    assert math.isnan(m["precision"]) and m["recall"] == 0
    # nested boxes: the small one inside the large one has precision 1
    m = box_metrics([(0.25, 0.25, 0.5, 0.5)], [(0.0, 0.0, 1.0, 1.0)], 100)
    assert m["precision"] == 1.0 and m["recall"] == pytest.approx(0.0625)
    # the union of boxes is drawn once: two identical boxes count as one
    assert box_metrics([(0, 0, 0.5, 0.5)] * 2, [(0, 0, 0.5, 0.5)], 10)["iou"] == 1.0


def test_sentence_facts_and_entailment():
    assert sentence_facts("left nodule") == {("nodule", "positive", "left", "")}
    assert sentence_facts("no effusion") == {("effusion", "negative", "", "")}
    assert sentence_facts("normal heart size") == {("cardiomegaly", "negative", "", "")}
    assert sentence_facts("moderate cardiomegaly") == {("cardiomegaly", "positive", "", "moderate")}
    assert sentence_facts("the lungs are clear") == frozenset()
    report = ["left nodule", "no effusion", "moderate cardiomegaly"]
    assert entailment("left nodule", report) == (True, [0])
    assert entailment("right nodule", report) == (False, [])             # wrong side
    assert entailment("cardiomegaly", report) == (True, [2])             # severity unstated on one side: a match
    assert entailment("marked cardiomegaly", report) == (False, [])      # other severity
    assert entailment("no effusion", report) == (True, [1])
    assert entailment("no nodule", report) == (False, [])                # the report states a nodule
    assert entailment("no pneumothorax", report) == (True, [])           # not stated anywhere: not contradicted
    assert entailment("the lungs are clear", report) == (False, [])
    assert entailment("the lungs are clear", ["no nodule", "no effusion"]) == (True, [])


def _g(text, *boxes):
    return GroundedSentence(text, tuple(boxes) if boxes else None)


def test_radfact_lite_by_hand():
    ref = [_g("left nodule", (0.6, 0.2, 0.7, 0.3)), _g("no effusion"), _g("mild cardiomegaly", (0.3, 0.4, 0.8, 0.7))]
    cand = [_g("left nodule", (0.6, 0.2, 0.7, 0.3)),                   # entailed, box exact: spatially entailed
            _g("right effusion", (0.1, 0.6, 0.3, 0.8)),                 # not entailed (reference denies it)
            _g("cardiomegaly", (0.0, 0.0, 0.2, 0.2))]                   # entailed, box outside the evidence
    s = radfact_lite(cand, ref)
    assert s["logical_precision"] == pytest.approx(2 / 3)               # nodule, cardiomegaly
    assert s["logical_recall"] == pytest.approx(2 / 3)                  # nodule, cardiomegaly ("no effusion" contradicted)
    assert s["spatial_precision"] == pytest.approx(1 / 3)               # 1 of 3 boxed candidate sentences
    assert s["grounding_precision"] == pytest.approx(1 / 2)             # 1 of 2 entailed boxed candidate sentences
    assert s["spatial_recall"] == pytest.approx(1 / 2)                  # reference nodule yes, cardiomegaly no
    assert s["grounding_recall"] == pytest.approx(1 / 2)
    assert (s["num_candidate_phrases"], s["num_reference_phrases"]) == (3, 3)
    assert (s["num_candidate_phrases_with_boxes"], s["num_reference_phrases_with_boxes"]) == (3, 2)


def test_radfact_lite_threshold_and_nan():
    ref = [_g("left nodule", (0.0, 0.0, 0.4, 0.4))]
    half = [_g("left nodule", (0.0, 0.0, 0.4, 0.8))]                     # box precision exactly 0.5: not above
    assert radfact_lite(half, ref)["grounding_precision"] == 0.0
    assert radfact_lite(half, ref, box_precision_threshold=0.4)["grounding_precision"] == 1.0
    s = radfact_lite([_g("no nodule")], [_g("no nodule")])               # no boxes anywhere: spatial scores NaN
    assert s["logical_precision"] == 1.0 and math.isnan(s["spatial_precision"]) and math.isnan(s["grounding_recall"])


def test_aggregate_ignores_nan_like_radfact():
    a = radfact_lite([_g("no nodule")], [_g("no nodule")])
    b = radfact_lite([_g("left nodule", (0, 0, 0.5, 0.5))], [_g("left nodule", (0, 0, 0.5, 0.5))])
    agg = aggregate([a, b])
    assert agg["logical_precision"] == 1.0 and agg["spatial_precision"] == 1.0 and agg["num_samples"] == 2
    assert agg["logical_f1"] == 1.0 and math.isnan(f1(0.0, 0.0))
    with pytest.raises(ValueError):
        GroundedSentence("left nodule", ())


def test_box_tokens_round_trip():
    rng = np.random.default_rng(0)
    size, grid = 32, 8
    x0 = rng.uniform(0, 30, (200, 2))
    boxes = np.concatenate([x0, np.minimum(size, x0 + rng.uniform(0.5, 12, (200, 2)))], 1)
    cells = box_tokens.quantise(boxes, size, grid)
    back = box_tokens.dequantise(cells, size, grid)
    cell = size / grid
    assert (back[:, :2] <= boxes[:, :2] + 1e-9).all() and (back[:, 2:] >= boxes[:, 2:] - 1e-9).all()   # covering
    assert (boxes[:, :2] - back[:, :2] < cell).all() and (back[:, 2:] - boxes[:, 2:] < cell).all()   # < one cell
    # a box on cell edges maps to exactly those cells and back
    assert box_tokens.quantise(np.array([4.0, 8.0, 12.0, 16.0]), 32, 8).tolist() == [1, 2, 2, 3]
    assert box_tokens.dequantise(np.array([1, 2, 2, 3]), 32, 8).tolist() == [4.0, 8.0, 12.0, 16.0]
    for c in cells[:20]:
        assert box_tokens.tokens_to_box(box_tokens.box_to_tokens(c)) == tuple(int(v) for v in c)


def test_box_tokens_parsing_and_errors():
    words = "left nodule <x5> <y2> <x6> <y3> . no effusion . mild cardiomegaly <x2> <y3> <x6> .".split()
    assert box_tokens.split_grounded(words) == [("left nodule", (5, 2, 6, 3)), ("no effusion", None),
                                                ("mild cardiomegaly", None)]           # three tokens: no box
    assert box_tokens.tokens_to_box(["<y1>", "<x1>", "<x2>", "<y2>"]) is None
    assert box_tokens.tokens_to_box(["<x3>", "<y1>", "<x2>", "<y2>"]) is None        # corners swapped
    assert len(box_tokens.box_token_names(8)) == 16
    with pytest.raises(ValueError, match="NaN"):
        box_tokens.quantise(np.array([np.nan, 0, 1, 1]), 32, 8)
    with pytest.raises(ValueError, match="inside the image"):
        box_tokens.quantise(np.array([0, 0, 40, 1]), 32, 8)
    with pytest.raises(ValueError, match="x1 > x0"):
        box_tokens.quantise(np.array([5, 0, 5, 1]), 32, 8)
