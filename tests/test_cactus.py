"""CACTUS loader (medrepro.data.datasets.cactus) on its fixture (written with PIL and the csv module) and on bad
input: each error names the file."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from medrepro.data.datasets import cactus, is_fixture
from medrepro.data.io import ImageFormatError


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return cactus.make_fixture(tmp_path_factory.mktemp("cactus"), seed=0, n_scans=2, frames_per_view=2)


def test_fixture_layout_and_round_trip(root):
    assert is_fixture(root)
    assert sorted(cactus.class_folders(root)) == sorted(cactus.CLASSES)
    data = cactus.load(root, size=64)
    assert data.classes == cactus.CLASSES and len(data) == 2 * (5 * 2 + 2)
    assert data.images.shape == (len(data), 64, 64) and data.images.dtype == np.float32
    # the loader reads what PIL reads, pixel for pixel, and the grade the CSV holds
    with open(root / "grades.csv", newline="") as fh:
        table = {(r["View"], r["Image"]): float(r["Grade"]) for r in csv.DictReader(fh)}
    for i in (0, len(data) - 1):
        ref = np.asarray(Image.open(data.paths[i]).convert("L"), np.float32) / 255
        np.testing.assert_array_equal(data.images[i], ref)
        assert data.grades[i] == table[(data.classes[data.labels[i]], data.paths[i].name)]
    assert (data.grades[data.labels == cactus.CLASSES.index("Random")] == 0).all()
    small = cactus.load(root, classes=("A4C", "PSMV"), size=32, max_per_class=3)
    assert small.images.shape == (6, 32, 32) and small.classes == ("A4C", "PSMV")


def test_rgb_and_lower_case_folders(tmp_path):
    (tmp_path / "a4c").mkdir()
    Image.fromarray(np.full((20, 30, 3), 128, np.uint8)).save(tmp_path / "a4c" / "x.jpg")
    (tmp_path / "scores.csv").write_text("File Name,Grade\nx.jpg,7.5\n")
    d = cactus.load(tmp_path, size=16)
    assert d.classes == ("A4C",) and d.grades.tolist() == [7.5] and abs(d.images.mean() - 128 / 255) < 0.01


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CACTUS class folder"):
        cactus.load(tmp_path)
    (tmp_path / "A4C").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "A4C" / "a.png")
    with pytest.raises(cactus.CactusLayoutError, match="no grades CSV"):
        cactus.load(tmp_path)
    for table, match in [("Image,Score\na.png,3\n", "grades.csv: needs an image-name column"),
                         ("Image,Grade\na.png,11\n", "grades.csv, line 2: grade 11.0 outside 0-10"),
                         ("Image,Grade\na.png,x\n", "grades.csv, line 2: grade 'x' is not a number"),
                         ("Image,Grade\nother.png,3\n", "a.png: no grade")]:
        (tmp_path / "grades.csv").write_text(table)
        with pytest.raises(cactus.CactusLayoutError, match=match):
            cactus.load(tmp_path)
    (tmp_path / "grades.csv").write_text("Image,Grade\na.png,3\nb.png,4\n")
    (tmp_path / "A4C" / "b.png").write_bytes(b"not an image")
    with pytest.raises(ImageFormatError, match="b.png: not a readable image"):
        cactus.load(tmp_path)
