"""UBFC-rPPG loader: AVI and ground-truth round trips, the DATASET_2 layout, and errors that name the file."""
import struct

import numpy as np
import pytest

from medrepro.data import datasets, manifest
from medrepro.data.datasets import ubfc_rppg as ubfc
from medrepro.data.io import FormatError


def test_avi_round_trip_odd_width(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (7, 5, 9, 3), dtype=np.uint8)  # 9 × 3 = 27 bytes per row: padded rows
    ubfc.write_avi(tmp_path / "v.avi", frames, fps=30)
    vid = ubfc.read_avi(tmp_path / "v.avi")
    assert (vid.n_frames, vid.width, vid.height, vid.fps, vid.codec) == (7, 9, 5, 30.0, "DIB")
    assert np.array_equal(vid.read(), frames) and np.array_equal(vid.read(2, 4), frames[2:4])
    assert np.array_equal(np.concatenate(list(vid.chunks(3))), frames)
    masks = np.zeros((2, 5, 9), bool)
    masks[0, :2], masks[1, 3:, 4:] = True, True
    means = vid.region_means(masks)
    assert means.shape == (7, 2, 3)
    assert np.allclose(means[:, 0], frames[:, :2].reshape(7, -1, 3).mean(1), atol=1e-3)


def test_avi_mjpeg_frames_are_decoded(tmp_path):
    from io import BytesIO

    from PIL import Image

    img = np.full((16, 16, 3), (200, 120, 40), np.uint8)
    buf = BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    jpg = buf.getvalue()
    ubfc.write_avi(tmp_path / "v.avi", np.zeros((2, 16, 16, 3), np.uint8), fps=25)
    raw = bytearray((tmp_path / "v.avi").read_bytes())
    # rewrite as an MJPEG file: codec in strf, frames replaced by JPEG chunks
    strf = raw.index(b"strf") + 8
    raw[strf + 16: strf + 20] = b"MJPG"
    movi = raw.index(b"movi")
    chunk = b"00dc" + struct.pack("<I", len(jpg)) + jpg + (b"\0" if len(jpg) & 1 else b"")
    body = b"movi" + chunk * 2
    out = raw[: movi - 8] + b"LIST" + struct.pack("<I", len(body)) + body
    out[4:8] = struct.pack("<I", len(out) - 8)
    (tmp_path / "m.avi").write_bytes(bytes(out))
    vid = ubfc.read_avi(tmp_path / "m.avi")
    assert vid.codec == "MJPG" and vid.n_frames == 2 and vid.fps == 25
    assert np.abs(vid.read()[1].astype(int) - img).max() < 8


def test_ground_truth_round_trip_and_compact_form(tmp_path):
    t = np.arange(90) / 30
    ubfc.write_ground_truth(tmp_path / "gt.txt", np.sin(t), np.full(90, 72.0), t)
    gt = ubfc.read_ground_truth(tmp_path / "gt.txt")
    assert np.allclose(gt.ppg, np.sin(t)) and np.allclose(gt.hr, 72) and abs(gt.fs - 30) < 1e-6
    (tmp_path / "c.txt").write_text(" ".join(map(str, np.r_[np.sin(t), np.full(90, 72.0), t])))
    assert np.allclose(ubfc.read_ground_truth(tmp_path / "c.txt").time, t)


def test_fixture_layout_and_loader(tmp_path):
    root = ubfc.make_fixture(tmp_path / "ubfc", n=2, seconds=4)
    assert datasets.is_fixture(root) and datasets.get("ubfc-rppg") is ubfc
    assert not manifest.missing_layout(root, manifest.load("ubfc-rppg").layout)
    assert ubfc.list_subjects(root) == ["subject1", "subject2"]
    vid, gt = ubfc.load_subject(root, "subject2")
    assert vid.n_frames == 120 == len(gt.ppg) and vid.read().shape == (120, 32, 32, 3)
    assert 40 < gt.hr.mean() < 130


def test_bad_inputs_name_the_file(tmp_path):
    root = ubfc.make_fixture(tmp_path / "u", n=1, seconds=2)
    avi = root / "subject1" / "vid.avi"
    data = avi.read_bytes()
    avi.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="vid.avi.*truncated"):
        ubfc.read_avi(avi)
    avi.write_bytes(b"not a video at all")
    with pytest.raises(FormatError, match="vid.avi: not an AVI"):
        ubfc.read_avi(avi)
    gt = root / "subject1" / "ground_truth.txt"
    gt.write_text("1 2 3\n4 5\n6 7 8\n")
    with pytest.raises(FormatError, match="ground_truth.txt: lines have"):
        ubfc.read_ground_truth(gt)
    gt.write_text("1 2\nx y\n0 1\n")
    with pytest.raises(FormatError, match="not numeric"):
        ubfc.read_ground_truth(gt)
    with pytest.raises(FileNotFoundError, match="no subjectN"):
        ubfc.list_subjects(tmp_path)
