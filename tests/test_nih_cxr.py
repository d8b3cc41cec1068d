"""NIH ChestX-ray14 layout: the loader on rows copied from the published files, the fixture read by pandas and
PIL as the real release is, boxes scaled, patient-wise split, and errors that name the file."""
from __future__ import annotations

import numpy as np
import pytest

from medrepro.data.datasets import is_fixture, nih_cxr
from medrepro.data.io import FormatError

# rows as they appear in the published files (Data_Entry_2017.csv: trailing comma; BBox_List_2017.csv: the
# bracketed header splits into four columns, three empty trailing ones)
ENTRY = ("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,"
         "OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n"
         "00000001_000.png,Cardiomegaly,0,1,57,M,PA,2682,2749,0.14300000000000002,0.14300000000000002,\n"
         "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.14300000000000002,0.14300000000000002,\n"
         "00013118_008.png,Atelectasis|Infiltration,8,13118,60,M,PA,2992,2991,0.143,0.143,\n")
BOXES = ("Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
         "00013118_008.png,Atelectasis,225.084745762712,547.019216763771,86.7796610169491,79.1864406779661,,,\n"
         "00013118_008.png,Infiltrate,100,200,50,60,,,\n")


def _write_published(root, size=32):
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "Data_Entry_2017.csv").write_text(ENTRY)
    (root / "BBox_List_2017.csv").write_text(BOXES)
    (root / "train_val_list.txt").write_text("00000001_000.png\n00000001_001.png\n")
    (root / "test_list.txt").write_text("00013118_008.png\n")
    for i, name in enumerate(("00000001_000.png", "00000001_001.png", "00013118_008.png")):
        Image.fromarray(np.full((1024, 1024), 40 * i, np.uint8), "L").save(root / "images" / name)


def test_reads_rows_of_the_published_files(tmp_path):
    _write_published(tmp_path)
    entry = nih_cxr.read_entry(tmp_path)
    assert entry.images == ["00000001_000.png", "00000001_001.png", "00013118_008.png"]
    assert entry.patient.tolist() == [1, 1, 13118] and entry.follow_up.tolist() == [0, 1, 8]
    k = nih_cxr.LABELS8.index
    assert entry.labels[0, k("Cardiomegaly")] and entry.labels[2, k("Infiltration")] and entry.labels.sum() == 4
    boxes = nih_cxr.read_boxes(tmp_path)
    x, y, w, h = 225.084745762712, 547.019216763771, 86.7796610169491, 79.1864406779661
    assert np.allclose(boxes[("00013118_008.png", "Atelectasis")], [x, y, x + w, y + h])
    assert ("00013118_008.png", "Infiltration") in boxes            # "Infiltrate" in the box file
    data = nih_cxr.load(tmp_path, size=32)
    assert data.images.shape == (3, 32, 32) and np.allclose(data.images[1], 40 / 255)
    assert np.allclose(data.boxes[2, k("Atelectasis")], np.array([x, y, x + w, y + h]) * 32 / 1024)
    assert data.split.tolist() == ["train", "train", "test"]


def test_fixture_is_read_by_pandas_and_pil_like_the_release(tmp_path):
    import pandas as pd
    from PIL import Image

    root = nih_cxr.make_fixture(tmp_path / "nih", seed=0)
    assert is_fixture(root)
    df = pd.read_csv(root / "Data_Entry_2017.csv")
    assert list(df.columns[:7]) == ["Image Index", "Finding Labels", "Follow-up #", "Patient ID", "Patient Age",
                                    "Patient Gender", "View Position"]
    assert df.shape[1] == 12 and df.columns[-1].startswith("Unnamed")      # the trailing comma, as published
    bb = pd.read_csv(root / "BBox_List_2017.csv")
    assert list(bb.columns[:6]) == ["Image Index", "Finding Label", "Bbox [x", "y", "w", "h]"] and bb.shape[1] == 9
    data = nih_cxr.load(root, size=64, labels=nih_cxr.LABELS14)
    first = np.asarray(Image.open(root / "images" / df["Image Index"][0]), np.float32) / 255
    assert np.array_equal(data.images[0], first)
    for lab_i, name in enumerate(nih_cxr.LABELS14):
        assert np.array_equal(data.labels[:, lab_i], df["Finding Labels"].str.split("|").apply(lambda s: name in s))
    for _, row in bb.iterrows():
        i = data.names.index(row["Image Index"])
        k = nih_cxr.LABELS14.index(row["Finding Label"])
        assert np.allclose(data.boxes[i, k], [row["Bbox [x"], row["y"], row["Bbox [x"] + row["w"], row["y"] + row["h]"]])
    train_p = set(data.patient[data.split == "train"])
    assert not train_p & set(data.patient[data.split == "test"])        # split by patient


def test_errors_name_the_file(tmp_path):
    _write_published(tmp_path)
    (tmp_path / "Data_Entry_2017.csv").write_text(ENTRY.replace("Cardiomegaly|Emphysema", "Cardiomegaly|Flu"))
    with pytest.raises(FormatError, match="Data_Entry_2017.csv, line 3.*Flu"):
        nih_cxr.read_entry(tmp_path)
    (tmp_path / "Data_Entry_2017.csv").write_text("a,b,c,d\n")
    with pytest.raises(FormatError, match="unexpected header"):
        nih_cxr.read_entry(tmp_path)
    with pytest.raises(FileNotFoundError, match="Data_Entry_2017"):
        nih_cxr.find_root(tmp_path / "images")
    (tmp_path / "Data_Entry_2017.csv").write_text(ENTRY)
    (tmp_path / "images" / "00000001_001.png").unlink()
    with pytest.raises(FileNotFoundError, match="00000001_001.png"):
        nih_cxr.load(tmp_path, size=16)
