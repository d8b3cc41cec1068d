"""The versioned text-prompt file of the CC-SAM notebook (notebooks/echo/cc-sam.ipynb)."""
from __future__ import annotations

from importlib import resources

import yaml

from medrepro.data.datasets import camus
from medrepro.nn.text import WordTokenizer


def _prompts() -> dict:
    return yaml.safe_load(resources.files("medrepro.resources").joinpath("cc_sam_prompts_v1.yaml").read_text())


def test_one_prompt_per_camus_structure():
    table = _prompts()
    assert table["version"] == 1
    labels = {int(k): v for k, v in table["labels"].items()}
    assert sorted(labels) == [k for k in camus.LABELS if k > 0]        # 1 LV cavity, 2 myocardium, 3 left atrium
    assert all(isinstance(v, str) and v.strip() for v in labels.values())


def test_prompts_differ_as_bags_of_words():
    # the notebook encodes each prompt as a bag of words: two prompts with the same word set would be one target
    tok = WordTokenizer()
    bags = [frozenset(tok.split(v)) for v in _prompts()["labels"].values()]
    assert len(set(bags)) == len(bags)


def test_simulated_camus_at_a_low_frame_rate(tmp_path):
    # the notebook writes its smoke patients at 10 frames/s; seed 3 draws a patient whose 1.6 s clip holds no
    # R peak, which once made write_simulated fail (no end-diastolic frame): the clip then starts at frame 0
    root = camus.write_simulated(tmp_path, 42, size=48, seed=3, views=("4CH",), spec_overrides={"fps": 10.0})
    patients = camus.list_patients(root)
    assert len(patients) == 42
    for p in patients:
        seq = camus.load_sequence(root, p, "4CH")
        assert len(seq.frames) >= 1 and seq.labels.shape == seq.frames.shape
