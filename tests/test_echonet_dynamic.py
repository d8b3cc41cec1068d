"""EchoNet-Dynamic layout: FileList / tracing readers, key frames, multi-view extension columns, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.data.datasets import echonet_dynamic as en


def _videos(n=3, t=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (t, size, size), dtype=np.uint8) for _ in range(n)]


def test_write_load_roundtrip_with_tracings(tmp_path):
    vids = _videos()
    names = ["0XAA", "0XBB", "0XCC"]
    big = en.mask_chords(np.pad(np.ones((8, 6), bool), 4))
    small = en.mask_chords(np.pad(np.ones((6, 4), bool), 5))
    tracings = {"0XAA": {3: small, 1: big}, "0XBB": {0: big, 2: small}}            # 0XCC: no tracings
    en.write(tmp_path, vids, names, ef=[55.0, 40.0, 62.5], esv=[1, 2, 3], edv=[4, 5, 6],
             split=["TRAIN", "VAL", "TEST"], tracings=tracings)
    d = en.load(tmp_path)
    assert d.names == names and len(d) == 3
    for a, b in zip(d.frames, vids):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(d.ef, [55.0, 40.0, 62.5])
    assert list(d.split) == ["TRAIN", "VAL", "TEST"] and list(d.view) == ["A4C"] * 3
    assert list(d.study) == names                                 # each real video is its own study
    k = en.load(tmp_path, keyframes=True)
    assert k.names == ["0XAA", "0XBB"]                            # untraced videos are left out, as officially
    np.testing.assert_array_equal(k.frames[0], vids[0][[1, 3]])   # end diastole (larger area) first
    np.testing.assert_array_equal(k.frames[1], vids[1][[0, 2]])
    assert list(en.load(tmp_path, split="test").names) == ["0XCC"]


def test_traced_area_of_a_rectangle():
    mask = np.zeros((20, 20), bool)
    mask[5:15, 4:10] = True
    chords = en.mask_chords(mask)
    assert chords.shape == (11, 4) and chords[0, 1] == 5 and chords[0, 3] == 14   # long axis first
    assert en.traced_area(chords) == pytest.approx(9 * 5)        # polygon through the pixel centres


def test_multiview_columns(tmp_path):
    en.write(tmp_path, _videos(4, t=1), ["S0_A4C", "S0_PL", "S1_A4C", "S1_PL"], ef=[np.nan] * 4,
             split=["TRAIN"] * 4, extra={"Study": ["S0", "S0", "S1", "S1"], "View": ["A4C", "PL", "A4C", "PL"],
                                          "Report": ["a", "a", "b", "b"]})
    d = en.load(tmp_path)
    assert list(d.study) == ["S0", "S0", "S1", "S1"] and list(d.view) == ["A4C", "PL", "A4C", "PL"]
    assert list(d.extra["Report"]) == ["a", "a", "b", "b"] and np.isnan(d.ef).all()


def test_errors_name_the_file(tmp_path):
    with pytest.raises(en.EchoNetError, match="FileList.csv not found"):
        en.load(tmp_path)
    en.write(tmp_path, _videos(1), ["0XAA"], ef=[50.0], split=["TRAIN"])
    (tmp_path / "Videos" / "0XAA.avi").unlink()
    with pytest.raises(en.EchoNetError, match="0XAA.avi: listed in FileList.csv but not found"):
        en.load(tmp_path)
    (tmp_path / "FileList.csv").write_text("FileName,EF\n0XAA,50\n")
    with pytest.raises(en.EchoNetError, match="columns .* missing"):
        en.load(tmp_path)
    (tmp_path / "VolumeTracings.csv").write_text("FileName,X,Y\n")
    with pytest.raises(en.EchoNetError, match="header"):
        en.read_tracings(tmp_path / "VolumeTracings.csv")
