"""CADICA loader: the layout third-party CADICA readers describe, read back as PIL and plain text read it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import cadica, is_fixture
from medrepro.data.io import ImageFormatError


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return cadica.make_fixture(tmp_path_factory.mktemp("cadica") / "CADICA", seed=1, n_patients=3,
                               videos_per_patient=3, frames_per_video=2, size=48)


def test_fixture_layout_and_marker(root):
    assert is_fixture(root)
    base = root / "selectedVideos"
    assert sorted(p.name for p in base.iterdir() if p.is_dir()) == ["p1", "p2", "p3"]
    for pdir in base.iterdir():
        if not pdir.is_dir():
            continue
        listed = cadica.read_list(pdir / "lesionVideos.txt") + cadica.read_list(pdir / "nonlesionVideos.txt")
        assert sorted(listed) == sorted(v.name for v in pdir.iterdir() if v.is_dir())
        for v in listed:
            stems = (pdir / v / f"{pdir.name}_{v}_selectedFrames.txt").read_text().split()
            assert stems and all(s.startswith(f"{pdir.name}_{v}_") and len(s.rsplit("_", 1)[1]) == 5 for s in stems)
            # every frame is written, the wash-in frame 00001 is not selected
            assert (pdir / v / "input" / f"{pdir.name}_{v}_00001.png").is_file()
            assert f"{pdir.name}_{v}_00001" not in stems


def test_loader_matches_pil_and_the_text_files(root):
    data = cadica.load(root, size=48)
    assert data.images.shape[1:] == (48, 48) and data.images.dtype == np.float32
    assert 0 < data.lesion.sum() < len(data)
    for k, path in enumerate(data.paths):
        with Image.open(path) as im:                                     # PIL, not medrepro, reads the frame
            assert im.format == "PNG" and im.mode == "L"
            np.testing.assert_array_equal(data.images[k], np.asarray(im, np.float32) / 255)
        gt = path.parent.parent / "groundtruth" / f"{path.stem}.txt"
        if data.lesion[k]:
            fields = gt.read_text().split()                              # plain text: x y w h label
            b = data.boxes[k][0]
            assert [b.x, b.y, b.w, b.h] == [float(v) for v in fields[:4]] and b.label == fields[4]
            assert data.severity[k] == fields[4]
        else:
            assert not gt.exists() and data.boxes[k] == [] and data.severity[k] == ""
    # a lesion frame's patient id is the folder name; videos are named per patient
    assert all(v.startswith(p + "_") for p, v in zip(data.patient, data.video))


def test_parent_folders_are_found(root):
    assert cadica.find_root(root.parent) == root
    with pytest.raises(FileNotFoundError, match="selectedVideos"):
        cadica.find_root(root / "selectedVideos" / "p1")


def test_boxes_are_rescaled_with_the_frame(root):
    small = cadica.load(root, size=24)
    full = cadica.load(root, size=48)
    for a, b in zip(small.boxes, full.boxes):
        for ba, bb in zip(a, b):
            assert (ba.x, ba.w) == pytest.approx((bb.x / 2, bb.w / 2))


def test_read_boxes_hand_written(tmp_path):
    f = tmp_path / "p1_v1_00003.txt"
    f.write_text("10 20 30 40 p70_90\n\n5 6 7 8 p100\n")
    assert cadica.read_boxes(f) == [cadica.Box(10, 20, 30, 40, "p70_90"), cadica.Box(5, 6, 7, 8, "p100")]


@pytest.mark.parametrize("line, msg", [("10 20 30 p70_90", "5 fields"), ("10 a 30 40 p70_90", "not numbers"),
                                       ("10 20 -3 40 p70_90", "negative"), ("10 20 30 40 severe", "unknown severity")])
def test_malformed_box_lines_name_file_and_line(tmp_path, line, msg):
    f = tmp_path / "p2_v4_00017.txt"
    f.write_text(f"1 2 3 4 p0_20\n{line}\n")
    with pytest.raises(cadica.CadicaLayoutError, match=rf"p2_v4_00017\.txt, line 2: .*{msg}"):
        cadica.read_boxes(f)


def test_missing_and_corrupt_files_are_named(root, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(root, bad)
    frame = next((bad / "selectedVideos" / "p1").glob("v*/input/*_00002.png"))
    frame.write_bytes(b"not a png")
    with pytest.raises(ImageFormatError, match=frame.name):
        cadica.load(bad, size=48)
    frame.unlink()
    with pytest.raises(FileNotFoundError, match=frame.name):
        cadica.load(bad, size=48)
    (bad / "selectedVideos" / "p2" / "lesionVideos.txt").unlink()
    with pytest.raises(FileNotFoundError, match="lesionVideos.txt"):
        cadica.load(bad, patients=["p2"], size=48)


def test_max_frames_per_video(root):
    one = cadica.load(root, size=48, max_frames_per_video=1)
    assert len(one) == len(np.unique(one.video))
