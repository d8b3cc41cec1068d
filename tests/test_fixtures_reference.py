"""Every ``make_fixture`` is read by the reference library exactly as the project's loader reads it.

A fixture written by the project's writer and read back by the project's reader proves nothing about real
data (DESIGN, "Checked against the outside"). So for every dataset module with a ``make_fixture``, the
fixture's files are read again with the library that defines the format — ``wfdb`` (WFDB records and
annotations), ``nibabel`` (NIfTI), ``pydicom`` (DICOM), ``h5py`` (HDF5), ``pynrrd`` (NRRD), Pillow (PNG,
JPEG), numpy (``.npz``, text), Python's ``csv`` and ``gzip`` (CSV tables) — and compared with what the loader
returns. WFDB fixtures are also compared field by field with the published real headers of their dataset
(the literals of ``test_readers_reference.py``), where one is known.
"""
from __future__ import annotations

import csv
import gzip
import importlib
import pkgutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

import medrepro.data.datasets as datasets_pkg
from test_readers_reference import (CHAPMAN_JS00001_HEA, MITDB_100_HEA, PTB_S0010_RE_HEA, PTBXL_00001_LR_HEA,
                                    header_columns)

pytestmark = pytest.mark.filterwarnings("ignore::Warning:wfdb")  # wfdb's own pandas deprecation warnings


def modules_with_fixture() -> list[str]:
    names = []
    for info in pkgutil.iter_modules(datasets_pkg.__path__):
        mod = importlib.import_module(f"{datasets_pkg.__name__}.{info.name}")
        if callable(getattr(mod, "make_fixture", None)):
            names.append(info.name)
    return sorted(names)


def _mod(name: str):
    return importlib.import_module(f"{datasets_pkg.__name__}.{name}")


# ---------------------------------------------------------------------------------------------------- WFDB
def assert_wfdb_reads_as(stem: Path, signal: np.ndarray, names: list[str] | None = None, fs: float | None = None):
    """``wfdb.rdrecord`` on ``stem`` gives ``signal`` (and the names and rate, when given)."""
    rec = wfdb.rdrecord(str(stem))
    assert rec.p_signal.shape == signal.shape, stem
    np.testing.assert_allclose(signal, rec.p_signal, rtol=0, atol=1e-6, err_msg=str(stem))
    if names is not None:
        assert list(rec.sig_name) == list(names), stem
    if fs is not None:
        assert float(rec.fs) == fs, stem


def _conventions(fields: list[str], which) -> list:
    """Signal-line fields with the gain field read as (gain, baseline, units), WFDB's defaults filled in
    (baseline: the ADC zero; units: mV), so that ``200`` and ``200.0(1024)/mV`` compare equal."""
    out = []
    for i in which:
        if i == 2:
            g, _, units = fields[2].partition("/")
            gain, _, base = g.partition("(")
            out.append((float(gain), int(base.rstrip(")")) if base else int(fields[4]), units or "mV"))
        else:
            out.append(fields[i])
    return out


def assert_same_conventions(hea: Path, real: str, fields=(1, 2, 3, 4, 7)) -> None:
    """The fixture header's signal lines use the real header's format, gain/baseline/units, resolution, ADC
    zero and block size (``fields`` of each signal line), and its record line the same signal count and rate."""
    text = hea.read_text()
    ours, theirs = header_columns(text), header_columns(real)
    rec_ours, rec_real = text.split(), real.split()
    assert rec_ours[1:3] == rec_real[1:3], f"{hea}: record line {rec_ours[:4]} vs the real {rec_real[:4]}"
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert _conventions(a, fields) == _conventions(b, fields), f"{hea}: {a} vs the real {b}"


def check_ptbxl(root: Path) -> None:
    ptbxl = _mod("ptbxl")
    db = ptbxl.load_database(root)
    for rate, col in ((100, "filename_lr"), (500, "filename_hr")):
        x = ptbxl.load_signals(root, db, rate)
        for i, rel in enumerate(db[col]):
            assert_wfdb_reads_as(root / rel, x[i], list(ptbxl.LEADS), float(rate))
    hea = root / "records100/00000/00001_lr.hea"
    assert_same_conventions(hea, PTBXL_00001_LR_HEA, fields=(1, 2, 3, 4, 7, 8))  # lead names too
    assert hea.read_text().split()[3] == "1000"  # 10 s at 100 Hz, as every PTB-XL record


def check_ptbxl_plus(root: Path) -> None:
    plus_mod = _mod("ptbxl_plus")
    check_ptbxl(root / plus_mod.PTBXL_DIR)
    plus = root / plus_mod.PLUS_DIR
    for alg in plus_mod.ALGORITHMS:
        table = plus_mod.load_features(plus, alg)
        with open(plus_mod.feature_path(plus, alg), newline="") as f:
            rows = list(csv.DictReader(f))
        assert [int(r["ecg_id"]) for r in rows] == table.index.tolist()
        for c in table.columns:
            ref = np.array([float(r[c]) if r[c] != "" else np.nan for r in rows])
            np.testing.assert_allclose(table[c].to_numpy(float), ref, rtol=1e-12, equal_nan=True)


def check_bidmc(root: Path) -> None:
    bidmc = _mod("bidmc")
    data = bidmc.load(root)
    for k, name in enumerate(bidmc.list_records(root)):
        x, fs, names = bidmc.read_record(root / name)
        assert_wfdb_reads_as(root / name, x, names, fs)
        np.testing.assert_allclose(data.ppg[k], wfdb.rdrecord(str(root / name), channel_names=["PLETH,"]).p_signal[:, 0],
                                   atol=1e-6)
        assert names == list(bidmc.SIGNALS) and fs == bidmc.FS


def check_mitdb(root: Path) -> None:
    mitdb = _mod("mitdb")
    for name in mitdb.list_records(root):
        rec = mitdb.read_record(root, name)
        assert_wfdb_reads_as(root / name, rec.signal, rec.leads, mitdb.FS)
        ann = wfdb.rdann(str(root / name), "atr")
        np.testing.assert_array_equal(rec.ann_sample, ann.sample)
        assert rec.ann_symbol == list(ann.symbol)
        assert_same_conventions(root / f"{name}.hea", MITDB_100_HEA)
        assert rec.leads[0] == "MLII"


def check_twadb(root: Path) -> None:
    twadb = _mod("twadb")
    for name in twadb.list_records(root):
        rec = twadb.read_record(root, name)
        assert_wfdb_reads_as(root / name, rec.signal, rec.leads, twadb.FS)
        np.testing.assert_array_equal(rec.qrs, wfdb.rdann(str(root / name), "qrs").sample)


def check_ptb(root: Path) -> None:
    ptb = _mod("ptb")
    for name in ptb.list_records(root):
        rec = ptb.read_record(root, name)
        assert_wfdb_reads_as(root / name, rec.signal, rec.leads, ptb.FS)
    first = root / "patient001/s0010_re.hea"
    assert_same_conventions(first, PTB_S0010_RE_HEA, fields=(1, 2, 3, 4, 7, 8))
    files = [c[0].rsplit(".", 1)[1] for c in header_columns(first.read_text())]
    assert files == ["dat"] * 12 + ["xyz"] * 3  # the 12 leads in .dat, the Frank leads in .xyz, as the real files


def check_chapman_shaoxing(root: Path) -> None:
    from scipy.io import loadmat

    cs = _mod("chapman_shaoxing")
    data = cs.load(root)
    for k, hea in enumerate(cs.list_headers(root)):
        stem = hea.with_suffix("")
        assert_wfdb_reads_as(stem, data.signals[k], list(cs.LEADS), cs.FS)
        val = loadmat(str(stem.with_suffix(".mat")))["val"]  # MATLAB v4 'val' (leads, samples), 1 µV per unit
        np.testing.assert_allclose(data.signals[k], val.T / 1000.0, atol=1e-6)
        assert_same_conventions(hea, CHAPMAN_JS00001_HEA, fields=(1, 2, 3, 4, 7, 8))
        comments = wfdb.rdheader(str(stem)).comments
        assert [c.split(":")[0] for c in comments[:3]] == ["Age", "Sex", "Dx"]


# ------------------------------------------------------------------------------------- MATLAB v7.3 k-space
def check_cmrxrecon(root: Path) -> None:
    """Read every .mat as the official loadFun does (h5py, compound real/imag, dims reversed) and by scipy's
    version sniffing (v7.3), and compare with the loader."""
    import h5py
    from scipy.io.matlab import matfile_version

    from medrepro.data.datasets import cmrxrecon as cx
    base = root / "MultiCoil" / "Cine" / "TrainingSet"
    for subject in cx.list_subjects(root):
        s = cx.load_subject(root, subject)
        f_full = base / "FullSample" / subject / "cine_sax.mat"
        assert matfile_version(str(f_full)) == (2, 0)
        with h5py.File(f_full, "r") as f:
            d = f["kspace_full"][:]
        matlab = np.transpose(d["real"] + 1j * d["imag"], [4, 3, 2, 1, 0])   # loadFun's (kx, ky, coils, z, t)
        np.testing.assert_array_equal(np.transpose(matlab, [4, 3, 2, 1, 0]), s.kspace)
        for r in (4, 8, 10):
            with h5py.File(base / f"AccFactor{r:02d}" / subject / "cine_sax_mask.mat", "r") as f:
                m = f[f"mask{r:02d}"][:] != 0
            np.testing.assert_array_equal(m, s.masks[r])
            with h5py.File(base / f"AccFactor{r:02d}" / subject / "cine_sax.mat", "r") as f:
                sub = f[f"kspace_sub{r:02d}"][:]
            np.testing.assert_array_equal(sub["real"] + 1j * sub["imag"], (s.kspace * m).astype(np.complex64))


# ------------------------------------------------------------------------------------- volumes and images
def check_acdc(root: Path) -> None:
    import nibabel as nib

    acdc = _mod("acdc")
    db = root / "database"
    for split in acdc.SPLITS:
        for patient in acdc.list_patients(db, split):
            for fr in acdc.load_patient(db, patient, split):
                img_p, gt_p = acdc.frame_paths(db, patient, fr.frame, split)
                img, gt = nib.load(str(img_p)), nib.load(str(gt_p))
                np.testing.assert_array_equal(fr.image, img.get_fdata().astype(np.float32))
                np.testing.assert_array_equal(fr.label, np.rint(gt.get_fdata()).astype(np.uint8))
                assert fr.spacing == tuple(float(z) for z in img.header.get_zooms())
            cine = nib.load(str(db / split / patient / f"{patient}_4d.nii.gz"))
            assert cine.ndim == 4 and cine.shape[3] == int(acdc.read_info(db / split / patient / "Info.cfg")["NbFrame"])


def check_synapse(root: Path) -> None:
    import h5py

    synapse = _mod("synapse")
    ds = root / "Synapse"
    slices = synapse.list_slices(ds)
    assert slices
    for _, _, path in slices:
        image, label = synapse.read_slice(path)
        with np.load(path) as f:
            np.testing.assert_array_equal(image, f["image"].astype(np.float32))
            np.testing.assert_array_equal(label, f["label"].astype(np.uint8))
    cases = synapse.list_cases(ds, "test")
    assert cases, "h5py is installed, so the fixture writes test_vol_h5"
    for vol in synapse.load_test_volumes(ds):
        with h5py.File(ds / "test_vol_h5" / f"{vol.case}.npy.h5", "r") as f:
            np.testing.assert_array_equal(vol.image, f["image"][()].astype(np.float32))
            np.testing.assert_array_equal(vol.label, f["label"][()].astype(np.uint8))


def check_la2018(root: Path) -> None:
    import nrrd  # pynrrd, in the test extra
    la = _mod("la2018")
    for case in la.list_cases(root):
        c = la.load_case(root, case)
        folder = root / la.TRAIN_DIR / case
        img, head = nrrd.read(str(folder / la.IMAGE_NRRD))
        lab, _ = nrrd.read(str(folder / la.LABEL_NRRD))
        np.testing.assert_array_equal(c.image, img.astype(np.float32))
        np.testing.assert_array_equal(c.label, (lab > 0).astype(np.uint8))
        assert set(np.unique(lab).tolist()) <= {0, 255}  # the challenge's mask convention
        np.testing.assert_allclose(c.spacing, np.linalg.norm(head["space directions"], axis=1))
        for p in (folder / la.IMAGE_NRRD, folder / la.LABEL_NRRD):
            ours, _ = la.read_nrrd(p)
            np.testing.assert_array_equal(ours, nrrd.read(str(p))[0])


def check_asoca(root: Path) -> None:
    """pynrrd reads every ASOCA case (int16 HU CT, uint8 0/1 mask) as the loader does, with the same spacing."""
    import nrrd  # pynrrd, in the test extra

    aso = _mod("asoca")
    for case in aso.list_cases(root):
        c = aso.load_case(root, case)
        img, head = nrrd.read(str(root / aso.IMAGE_DIR / f"{case}.nrrd"))
        lab, _ = nrrd.read(str(root / aso.MASK_DIR / f"{case}.nrrd"))
        assert img.dtype == np.int16 and lab.dtype == np.uint8, case
        np.testing.assert_array_equal(c.image, img.astype(np.float32), err_msg=case)
        np.testing.assert_array_equal(c.label, lab, err_msg=case)
        np.testing.assert_allclose(c.spacing, np.linalg.norm(head["space directions"], axis=1))


def check_chaos(root: Path) -> None:
    import pydicom
    from PIL import Image

    chaos = _mod("chaos")
    ts = root / "Train_Sets"
    for patient in chaos.list_patients(ts):
        for seq in chaos.SEQUENCES:
            v = chaos.load_volume(ts, patient, seq)
            dcm_dir, gt_dir = chaos.sequence_paths(ts, patient, seq)
            dss = [pydicom.dcmread(dcm_dir / f) for f in v.files]
            assert [int(d.InstanceNumber) for d in dss] == sorted(int(d.InstanceNumber) for d in dss)
            ref = np.stack([d.pixel_array * float(d.get("RescaleSlope", 1)) + float(d.get("RescaleIntercept", 0))
                            for d in dss]).astype(np.float32)
            assert all(d.PhotometricInterpretation == "MONOCHROME2" for d in dss)
            np.testing.assert_array_equal(v.image, ref)
            pngs = sorted(gt_dir.glob("*.png"))
            grey = np.stack([np.asarray(Image.open(p)) for p in pngs])
            np.testing.assert_array_equal(chaos.labels_to_grey(v.label), grey)


def check_mednist(root: Path) -> None:
    from PIL import Image

    mednist = _mod("mednist")
    data = mednist.load(root)
    assert len(data)
    for k, p in enumerate(data.paths):
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "L" and im.size == (64, 64)
            ref = np.asarray(im, dtype=np.float32) / 255.0
        np.testing.assert_allclose(data.images[k], ref, atol=1e-7)


def check_ecg_images(root: Path) -> None:
    from PIL import Image

    ei = _mod("ecg_images")
    paths, _ = ei.list_files(root)
    assert paths
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            ref = np.asarray(im.convert("RGB"))
        np.testing.assert_array_equal(ei.read_image(p), ref)


def check_ubfc_rppg(root: Path) -> None:
    ubfc = _mod("ubfc_rppg")
    for subject in ubfc.list_subjects(root):
        _, gt = ubfc.load_subject(root, subject)
        ref = np.loadtxt(root / subject / ubfc.GROUND_TRUTH)
        np.testing.assert_array_equal(np.stack([gt.ppg, gt.hr, gt.time]), ref)
    # vid.avi through FFmpeg (PyAV, BSD; its wheels bundle LGPL FFmpeg libraries, test extra only)
    import av

    for subject in ubfc.list_subjects(root):
        video, _ = ubfc.load_subject(root, subject)
        with av.open(str(root / subject / ubfc.VIDEO)) as container:
            stream = container.streams.video[0]
            ref = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
            fps = float(stream.average_rate)
        assert ref.shape[0] == video.n_frames and fps == pytest.approx(video.fps)
        np.testing.assert_array_equal(video.read(), ref)


def check_mimic_iv(root: Path) -> None:
    import pandas as pd

    mimic = _mod("mimic_iv")
    tables = mimic.load_tables(root)
    for name in ("patients", "diagnoses_icd", "d_icd_diagnoses", "d_icd_procedures"):
        with gzip.open(mimic.table_path(root, name), "rt", newline="") as f:
            rows = list(csv.DictReader(f))
        table = tables[name]
        assert len(table) == len([r for r in rows if name != "diagnoses_icd" or r["icd_code"]]), name
        for c in table.columns:
            got = table[c].tolist()
            ref = [r[c] for r in rows if name != "diagnoses_icd" or r["icd_code"]]
            if pd.api.types.is_numeric_dtype(table[c]):
                np.testing.assert_allclose(np.asarray(got, float), [float(v) if v else np.nan for v in ref],
                                           equal_nan=True, err_msg=f"{name}.{c}")
            else:  # strings as written: ICD codes keep their leading zeros
                assert [("" if g is None or (isinstance(g, float) and np.isnan(g)) else str(g)) for g in got] == ref, \
                    f"{name}.{c}"


def check_bnci2014_001(root: Path) -> None:
    """MOABB's access pattern (scipy.io.loadmat, struct_as_record=False, squeeze_me=True) reads what the loader reads."""
    from scipy.io import loadmat

    bnci = _mod("bnci2014_001")
    for subject in bnci.subjects_present(root):
        for session in ("T", "E"):
            path = root / bnci.filename(subject, session)
            data = np.atleast_1d(loadmat(path, struct_as_record=False, squeeze_me=True)["data"])
            runs = bnci.load_session(path)
            assert len(runs) == len(data), path.name
            for run, ref in zip(runs, data):
                np.testing.assert_allclose(run.X, ref.X, err_msg=path.name)
                np.testing.assert_array_equal(run.starts, np.atleast_1d(np.asarray(ref.trial, int)) - 1)


def check_isles22(root: Path) -> None:
    """nibabel reads every case's DWI, ADC and lesion mask as the loader does (FLAIR is resampled by the loader)."""
    import nibabel as nib

    isles = _mod("isles22")
    for cid in isles.case_ids(root):
        p, case = isles.paths(root, cid), isles.load_case(root, cid)
        np.testing.assert_array_equal(case.dwi, nib.load(p["dwi"]).get_fdata(dtype=np.float32), err_msg=cid)
        np.testing.assert_array_equal(case.adc, nib.load(p["adc"]).get_fdata(dtype=np.float32), err_msg=cid)
        np.testing.assert_array_equal(case.mask, np.asarray(nib.load(p["msk"]).dataobj), err_msg=cid)


def check_isles24(root: Path) -> None:
    """nibabel reads every case's four perfusion maps, lesion mask and 4-D CTP, and csv its clinical tables, as
    the loader does."""
    import nibabel as nib

    isles = _mod("isles24")
    for cid in isles.case_ids(root):
        p, case = isles.paths(root, cid), isles.load_case(root, cid, ctp=True)
        for m in isles.MAPS:
            np.testing.assert_array_equal(case.maps[m], nib.load(p[m]).get_fdata(dtype=np.float32), err_msg=cid)
        np.testing.assert_array_equal(case.mask, np.asarray(nib.load(p["msk"]).dataobj), err_msg=cid)
        ctp = nib.load(p["ctp"])
        np.testing.assert_array_equal(case.ctp, ctp.get_fdata(dtype=np.float32), err_msg=cid)
        assert case.dt == ctp.header.get_zooms()[3]
        with open(p["outcome"], newline="") as f:
            header, row = list(csv.reader(f))
        assert all(case.clinical[k] == v for k, v in zip(header, row)), cid


def check_atm22(root: Path) -> None:
    """nibabel reads every case's CT (int16 HU) and airway label as the loader does; the excluded case is not listed."""
    import nibabel as nib

    atm = _mod("atm22")
    ids = atm.case_ids(root)
    assert "ATM_164_0000" not in ids
    for cid in ids:
        p, case = atm.paths(root, cid), atm.load_case(root, cid)
        ref = nib.load(p["image"])
        assert ref.get_data_dtype() == np.int16, cid
        np.testing.assert_array_equal(case.image, ref.get_fdata(dtype=np.float32), err_msg=cid)
        np.testing.assert_array_equal(case.label, np.asarray(nib.load(p["label"]).dataobj), err_msg=cid)
        assert case.spacing == tuple(float(z) for z in ref.header.get_zooms()[:3])


def check_ixi(root: Path) -> None:
    """nibabel reads every subject's T2 and PD (one grid) as the loader does; T1 is resampled onto it."""
    import nibabel as nib

    ixi = _mod("ixi")
    for sid in ixi.subject_ids(root):
        sub = ixi.load_subject(root, sid)
        for seq in ("T2", "PD"):
            np.testing.assert_array_equal(sub.images[seq], nib.load(ixi.path(root, sid, seq)).get_fdata(dtype=np.float32),
                                          err_msg=sid)
        assert sub.images["T1"].shape == sub.images["T2"].shape, sid


def check_camus(root: Path) -> None:
    """nibabel reads each half-sequence and its labels ((width, height, frames) on disk) as the loader does."""
    import nibabel as nib

    camus = _mod("camus")
    base = camus.dataset_dir(root)
    for patient in camus.list_patients(root):
        for view in camus.VIEWS:
            seq = camus.load_sequence(root, patient, view)
            img = np.asarray(nib.load(str(base / patient / f"{patient}_{view}_half_sequence.nii.gz")).dataobj)
            gt = np.asarray(nib.load(str(base / patient / f"{patient}_{view}_half_sequence_gt.nii.gz")).dataobj)
            np.testing.assert_allclose(seq.frames, np.transpose(img, (2, 1, 0)) / 255.0, atol=1e-6)
            np.testing.assert_array_equal(seq.labels, np.transpose(gt, (2, 1, 0)))


def check_nih_cxr(root: Path) -> None:
    """pandas reads the published CSVs and Pillow the PNGs as the loader does (labels, boxes, pixels)."""
    import pandas as pd
    from PIL import Image

    nih = _mod("nih_cxr")
    df = pd.read_csv(root / "Data_Entry_2017.csv")
    size = np.asarray(Image.open(root / "images" / df["Image Index"][0])).shape[0]
    data = nih.load(root, size=size, labels=nih.LABELS14)
    for i, name in enumerate(df["Image Index"]):
        j = data.names.index(name)
        np.testing.assert_array_equal(data.images[j], np.asarray(Image.open(root / "images" / name), np.float32) / 255)
        for k, lab in enumerate(nih.LABELS14):
            assert bool(data.labels[j, k]) == (lab in df["Finding Labels"][i].split("|")), (name, lab)


def check_deap(root: Path) -> None:
    """Python's pickle, as torcheeg's DEAPDataset calls it (encoding='iso-8859-1'), reads what the loader reads."""
    import pickle

    deap = _mod("deap")
    for subject in deap.subjects_present(root):
        path = root / deap.filename(subject)
        with open(path, "rb") as f:
            ref = pickle.load(f, encoding="iso-8859-1")
        data, labels = deap.load_subject(path)
        np.testing.assert_array_equal(data, ref["data"], err_msg=path.name)
        np.testing.assert_array_equal(labels, ref["labels"], err_msg=path.name)


def check_things_eeg2(root: Path) -> None:
    """numpy's np.load(allow_pickle=True) (as the official THINGS-EEG2 and ATM loaders call it) and
    torch.load read what the loader reads, for both ways the dicts are saved (np.save and pickle.dump)."""
    import torch

    te = _mod("things_eeg2")
    for subject in te.subjects_present(root):
        for name in te.PARTS.values():
            path = te.subject_dir(root, subject) / name
            ref = np.load(path, allow_pickle=True)
            ref = ref.item() if isinstance(ref, np.ndarray) else ref
            part = te.load_part(path)
            np.testing.assert_array_equal(part.data, ref["preprocessed_eeg_data"], err_msg=str(path))
            assert list(part.ch_names) == list(ref["ch_names"]), path
            np.testing.assert_array_equal(part.times, np.asarray(ref["times"])[-part.data.shape[-1]:])
    feats = te.load_features(root)
    for part in ("train", "test"):
        ref = torch.load(root / te.FEATURES.format(model="ViT-H-14", part=part), weights_only=True)
        np.testing.assert_array_equal(feats[f"{part}_img"], ref["img_features"].numpy())
        np.testing.assert_array_equal(feats[f"{part}_text"], ref["text_features"].numpy())


def check_mimic_cxr(root: Path) -> None:
    """Python's gzip/csv read the three tables, Pillow the JPEGs and plain file reads the reports as the loader."""
    from PIL import Image

    m = _mod("mimic_cxr")
    with gzip.open(root / m.METADATA, "rt", newline="") as f:
        meta = list(csv.DictReader(f))
    with gzip.open(root / m.CHEXPERT, "rt", newline="") as f:
        chex = {(int(r["subject_id"]), int(r["study_id"])): r for r in csv.DictReader(f)}
    data = m.load(root, size=64, labels=m.CHEXPERT_LABELS)
    assert data.dicom_id == [r["dicom_id"] for r in meta if r["ViewPosition"] in ("PA", "AP")]
    both = m.load(root, size=64, labels=m.CHEXPERT_LABELS, views=("PA", "AP", "LL", "LATERAL"))
    assert both.dicom_id == [r["dicom_id"] for r in meta] and list(both.view) == [r["ViewPosition"] for r in meta]
    assert {r["ViewPosition"] for r in meta} == {"PA", "LL"}      # the current studies have a lateral film too
    for j, r in enumerate(meta):
        d = root / "files" / f"p{r['subject_id'][:2]}" / f"p{r['subject_id']}" / f"s{r['study_id']}"
        np.testing.assert_array_equal(both.images[j], np.asarray(Image.open(d / f"{r['dicom_id']}.jpg"), np.float32) / 255)
        assert both.reports[j] == (d.parent / f"s{r['study_id']}.txt").read_text()
        row = chex[(int(r["subject_id"]), int(r["study_id"]))]
        want = [float(row[c]) if row[c] else np.nan for c in m.CHEXPERT_LABELS]
        np.testing.assert_array_equal(both.labels[j], want)
    meta = [r for r in meta if r["ViewPosition"] in ("PA", "AP")]
    # prior studies (Libra): the latest earlier StudyDate/StudyTime of the same patient, by datetime's parser
    from datetime import datetime
    when = [datetime.strptime(r["StudyDate"] + r["StudyTime"].split(".")[0].zfill(6), "%Y%m%d%H%M%S") for r in meta]
    prior = m.prior_index(data)
    for j, r in enumerate(meta):
        earlier = [k for k, q in enumerate(meta) if q["subject_id"] == r["subject_id"] and when[k] < when[j]
                   and q["study_id"] != r["study_id"]]
        assert prior[j] == (max(earlier, key=lambda k: when[k]) if earlier else -1)


def check_bloodmnist(root: Path) -> None:
    """numpy (the format's own reader, as the official medmnist package indexes it) reads what the loader returns."""
    bm = _mod("bloodmnist")
    with np.load(root / "bloodmnist.npz") as npz:
        for split in ("train", "val", "test"):
            imgs, labs = npz[f"{split}_images"], npz[f"{split}_labels"]
            assert imgs.dtype == np.uint8 and imgs.ndim == 4 and imgs.shape[-1] == 3 and labs.shape == (len(imgs), 1)
            data = bm.load(root, split)
            np.testing.assert_array_equal(data.images, imgs.transpose(0, 3, 1, 2).astype(np.float32) / 255)
            np.testing.assert_array_equal(data.labels, labs[:, 0])


def check_organamnist(root: Path) -> None:
    """numpy (the format's own reader, as the official medmnist package indexes it) reads what the loader returns:
    grayscale (N, 28, 28) uint8 images, (N, 1) labels among OrganAMNIST's 11 classes."""
    om = _mod("organamnist")
    with np.load(root / "organamnist.npz") as npz:
        for split in ("train", "val", "test"):
            imgs, labs = npz[f"{split}_images"], npz[f"{split}_labels"]
            assert imgs.dtype == np.uint8 and imgs.shape[1:] == (28, 28) and labs.shape == (len(imgs), 1)
            assert labs.min() >= 0 and labs.max() <= 10
            data = om.load(root, split)
            np.testing.assert_array_equal(data.images, imgs[:, None].astype(np.float32) / 255)
            np.testing.assert_array_equal(data.labels, labs[:, 0])


def check_cactus(root: Path) -> None:
    """PIL and the csv module (not medrepro) read the images and grades the loader returns."""
    import csv

    from PIL import Image

    ca = _mod("cactus")
    data = ca.load(root, size=64)
    with open(root / "grades.csv", newline="") as fh:
        grades = {(r["View"], r["Image"]): float(r["Grade"]) for r in csv.DictReader(fh)}
    assert len(data) == len(grades)
    for k, p in enumerate(data.paths):
        with Image.open(p) as im:
            assert im.format == "PNG" and im.mode == "L" and im.size == (64, 64)
            ref = np.asarray(im, dtype=np.float32) / 255.0
        np.testing.assert_array_equal(data.images[k], ref)
        assert data.grades[k] == grades[(data.classes[data.labels[k]], p.name)]


def check_paxray(root: Path) -> None:
    """Python's json reads paxray.json, Pillow the PNGs and numpy's np.load the label stacks as the loader does."""
    import json

    from PIL import Image

    px = _mod("paxray")
    index = json.loads((root / "paxray.json").read_text())
    names = [index["label_dict"][str(i)] for i in range(len(index["label_dict"]))]
    for split in ("train", "val", "test"):
        data = px.load_split(root, split)
        assert data.class_names == names and data.stems == [i["image"][7:-4] for i in index[split]]
        for k, item in enumerate(index[split]):
            with Image.open(root / item["image"]) as im:
                assert im.format == "PNG" and im.mode == "L"
                np.testing.assert_array_equal(data.images[k], np.asarray(im, np.float32) / 255)
            lab = np.load(root / item["target"])
            assert lab.dtype == bool and lab.shape == (len(names),) + data.images.shape[1:]
            np.testing.assert_array_equal(data.labels[k], lab)


def check_fives(root: Path) -> None:
    """PIL (not medrepro) reads the photographs and masks the loader returns, in both splits."""
    from PIL import Image

    fv = _mod("fives")
    for split in ("train", "test"):
        data = fv.load(root, split)
        assert len(data) == len(list((root / split / "Original").glob("*.png")))
        for k, p in enumerate(data.paths):
            with Image.open(p) as im:
                assert im.format == "PNG" and im.mode == "RGB"
                np.testing.assert_array_equal(data.images[k], np.asarray(im, dtype=np.float32) / 255.0)
            with Image.open(root / split / "Ground truth" / p.name) as m:
                np.testing.assert_array_equal(data.masks[k], np.asarray(m.convert("L")) > 127)


def check_hyper_kvasir(root: Path) -> None:
    """PIL (not medrepro) reads the JPEGs, split lists and masks the loader returns."""
    from PIL import Image

    hk = _mod("hyper_kvasir")
    data = hk.load_labeled(root, size=32, split="test")
    rows = [ln.split() for ln in (root / "HKVASIR_test.txt").read_text().splitlines()[1:]]
    assert [p.relative_to(root).as_posix() for p in data.paths] == [r[2] for r in rows]
    for k, p in enumerate(data.paths):
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB" and im.size == (32, 32)
            np.testing.assert_array_equal(data.images[k], np.asarray(im, np.float32).transpose(2, 0, 1) / 255)
        assert data.labels[k] == int(rows[k][1]) - 1
    seg = hk.load_segmented(root, size=32)
    for m, p in zip(seg.masks, seg.paths):
        with Image.open(root / "segmented-images" / "masks" / p.name) as im:
            assert im.format == "JPEG"
            np.testing.assert_array_equal(m, np.asarray(im.convert("L")) >= 128)


def check_cadica(root: Path) -> None:
    """PIL and plain text reading (not medrepro) give the frames, lesion labels and boxes the loader returns."""
    from PIL import Image

    ca = _mod("cadica")
    data = ca.load(root, size=64)
    base = root / "selectedVideos"
    n = 0
    for pdir in sorted(p for p in base.iterdir() if p.is_dir()):
        lesion_videos = (pdir / "lesionVideos.txt").read_text().split()
        for v in lesion_videos + (pdir / "nonlesionVideos.txt").read_text().split():
            for stem in (pdir / v / f"{pdir.name}_{v}_selectedFrames.txt").read_text().split():
                k = data.paths.index(pdir / v / "input" / f"{stem}.png")
                with Image.open(data.paths[k]) as im:
                    assert im.format == "PNG" and im.mode == "L" and im.size == (64, 64)
                    np.testing.assert_array_equal(data.images[k], np.asarray(im, dtype=np.float32) / 255.0)
                gt = pdir / v / "groundtruth" / f"{stem}.txt"
                rows = [ln.split() for ln in gt.read_text().splitlines()] if gt.is_file() else []
                assert bool(data.lesion[k]) == (v in lesion_videos and bool(rows))
                assert [(b.x, b.y, b.w, b.h, b.label) for b in data.boxes[k]] == \
                    [(float(r[0]), float(r[1]), float(r[2]), float(r[3]), r[4]) for r in rows]
                n += 1
    assert n == len(data)

def check_erp_core(root: Path) -> None:
    """MNE's EEGLAB reader (not medrepro) reads each .set/.fdt with the loader's channels, rate, data (µV) and
    stimulus events; csv reads participants.tsv with the subjects the loader finds."""
    import mne

    from medrepro.data.datasets import erp_core

    subjects = erp_core.subjects_present(root)
    with open(root / "participants.tsv", newline="") as f:
        listed = [int(r["participant_id"].removeprefix("sub-")) for r in csv.DictReader(f, delimiter="\t")]
    assert subjects and sorted(listed) == subjects
    for s in subjects:
        rec = erp_core.load_subject(root, s)
        raw = mne.io.read_raw_eeglab(erp_core.set_path(root, s), preload=True, verbose="error")
        assert tuple(raw.ch_names) == rec.ch_names and raw.info["sfreq"] == rec.fs
        np.testing.assert_allclose(raw.get_data() * 1e6, rec.data, rtol=0, atol=1e-9)
        events, ids = mne.events_from_annotations(raw, verbose="error")
        codes = {v: int(k) for k, v in ids.items()}
        stim = np.array([codes[e] not in erp_core.RESPONSE_CODES for e in events[:, 2]])
        np.testing.assert_array_equal(events[stim, 0], rec.event_samples)
        np.testing.assert_array_equal([codes[e] for e in events[stim, 2]], rec.event_values)


def check_vqa_rad(root: Path) -> None:
    """Python's json module reads the question records and Pillow the JPEGs exactly as the loader returns them."""
    import json

    from PIL import Image

    vr = _mod("vqa_rad")
    raw = json.loads((root / "VQA_RAD Dataset Public.json").read_text(encoding="utf-8"))
    data = vr.load(root, split=None, read_images=True)
    assert [it.qid for it in data.items] == [str(r["qid"]) for r in raw]
    for it, r in zip(data.items, raw):
        assert (it.question, it.answer, it.answer_type) == (r["question"], str(r["answer"]), r["answer_type"])
        with Image.open(root / "VQA_RAD Image Folder" / r["image_name"]) as im:
            assert im.format == "JPEG"
            np.testing.assert_array_equal(data.images[r["image_name"]], np.asarray(im.convert("L"), np.float32) / 255)
    assert {it.split for it in data.items} == {"train", "test"}


def check_medshapenet(root: Path) -> None:
    """STL has no reference library here: each binary STL file is parsed again with Python's ``struct`` after the
    format's specification (header, count, 50-byte records) and compared with the loader's triangles; the
    loader's voxel grids must be the triplet's own (defective + implant = complete, disjoint)."""
    import struct

    mod = _mod("medshapenet")
    for path in sorted(root.rglob("*.stl")):
        data = path.read_bytes()
        (n,) = struct.unpack_from("<I", data, 80)
        assert len(data) == 84 + 50 * n, path
        rec = [struct.unpack_from("<12fH", data, 84 + 50 * i) for i in range(n)]
        tri = np.asarray([r[3:12] for r in rec], np.float32).reshape(n, 3, 3)
        np.testing.assert_array_equal(mod.load_mesh(path), tri, err_msg=str(path))
        assert all(r[12] == 0 for r in rec), path
    for case in mod.case_ids(root):
        for kind in mod.defect_types(root):
            c = mod.load_case(root, case, kind, size=24, spacing=8.0)    # the fixture's own lattice
            np.testing.assert_array_equal(c.defective | c.implant, c.complete)
            assert not (c.defective & c.implant).any() and c.implant.any()


def check_idrcell100k(root: Path) -> None:
    """Each split's CSV is parsed as the official code's IDRCell100K class parses it (csv.reader, the second column
    evaluated as a Python list, paths joined under images/) and every channel file is opened with Pillow as there
    (``np.array(Image.open(path))``); the loader's images must be those stacks, scaled by 255 (8-bit files)."""
    import ast

    from PIL import Image

    mod = _mod("idrcell100k")
    for split in ("train", "test"):
        with open(root / f"{split}.csv", newline="") as f:
            rows = [(r[0], [root / "images" / p for p in ast.literal_eval(r[1])]) for r in csv.reader(f)]
        loaded = mod.load_split(root, split)
        assert loaded.image_ids == [r[0] for r in rows]
        for (image_id, paths), img in zip(rows, loaded.images):
            ref = np.stack([np.array(Image.open(p)) for p in paths])
            assert ref.dtype == np.uint8 and all(Image.open(p).mode == "L" for p in paths), image_id
            np.testing.assert_array_equal(img, ref.astype(np.float32) / 255, err_msg=image_id)


def check_mimic_iv_ecg(root: Path) -> None:
    """``wfdb.rdrecord`` reads every record of ``record_list.csv`` as the loader does (leads reordered by name to
    I, II, III, aVR, aVL, aVF, V1-V6; 500 Hz, 10 s), and Python's csv reads the two tables as the index."""
    m = _mod("mimic_iv_ecg")
    with open(root / m.RECORD_LIST, newline="") as f:
        recs = list(csv.DictReader(f))
    with open(root / m.MEASUREMENTS, newline="") as f:
        meas = {r["study_id"]: r for r in csv.DictReader(f)}
    index = m.read_index(root)
    assert [int(r["study_id"]) for r in recs] == index.study.tolist()
    assert [r["path"] for r in recs] == index.path
    assert [str(t).replace("T", " ") for t in index.time] == [r["ecg_time"] for r in recs]
    x = m.read_signals(root, index.path, fs=500.0)
    for i, r in enumerate(recs):
        rec = wfdb.rdrecord(str(root / r["path"]))
        assert rec.fs == 500 and rec.sig_len == 5000 and list(rec.sig_name) == list(m.FILE_LEADS), r["path"]
        order = [rec.sig_name.index(ld) for ld in m.LEADS]
        np.testing.assert_allclose(x[i], rec.p_signal[:, order].T, rtol=0, atol=1e-6, err_msg=r["path"])
        row = meas[r["study_id"]]
        want = ". ".join(row[f"report_{k}"].strip().rstrip(".") for k in range(18) if row[f"report_{k}"].strip())
        assert index.reports[i] == want
    # 100 Hz: means over blocks of 5 samples of what wfdb reads
    x100 = m.read_signals(root, index.path[:2], fs=100.0)
    for i in range(2):
        rec = wfdb.rdrecord(str(root / recs[i]["path"]))
        ref = rec.p_signal[:, [rec.sig_name.index(ld) for ld in m.LEADS]].reshape(1000, 5, 12).mean(1).T
        np.testing.assert_allclose(x100[i], ref, rtol=0, atol=1e-5)


def check_echonet_dynamic(root: Path) -> None:
    """FileList and tracings as pandas reads them (the official loader reads them with pandas and csv); the
    videos through FFmpeg (PyAV); the key frames are the traced frames, end diastole (larger area) first."""
    import av
    import pandas as pd

    en = _mod("echonet_dynamic")
    data = en.load(root)
    ref = pd.read_csv(root / "FileList.csv")
    assert list(ref.columns[:9]) == list(en.FILELIST_COLUMNS)
    assert data.names == ref["FileName"].tolist()
    np.testing.assert_allclose(data.ef, ref["EF"].to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(data.edv, ref["EDV"].to_numpy(), rtol=1e-5)
    for name, frames in zip(data.names, data.frames):
        with av.open(str(root / "Videos" / f"{name}.avi")) as container:
            dec = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        np.testing.assert_array_equal(frames, dec[..., 0])
    tr = pd.read_csv(root / "VolumeTracings.csv")
    assert list(tr.columns) == list(en.TRACING_COLUMNS)
    keys = en.load(root, keyframes=True)
    for name, kf, video in zip(keys.names, keys.frames, data.frames):
        rows = tr[tr["FileName"] == f"{name}.avi"]
        areas = {f: en.traced_area(g[["X1", "Y1", "X2", "Y2"]].to_numpy()) for f, g in rows.groupby("Frame")}
        ed, es = sorted(areas, key=areas.get, reverse=True)
        np.testing.assert_array_equal(kf, video[[ed, es]])


def check_breakhis(root: Path) -> None:
    """The folders are walked and the file names parsed as kaiko-ai/eva's BreaKHis class does (glob of
    ``**/<mag>/*.png``; class ``name.split("-")[0].split("_")[-1]``, patient ``name.split("-")[2]``), and every PNG
    is opened with Pillow (8-bit RGB): the loader's images, classes and patients must be those."""
    import glob
    import os

    from PIL import Image

    mod = _mod("breakhis")
    base = os.path.join(root, "BreaKHis_v1", "histology_slides")
    files = sorted(glob.glob(os.path.join(base, "**/40X", "*.png"), recursive=True))
    loaded = mod.load(root)
    assert [str(p) for p in loaded.paths] == files and len(files) > 0
    for k, f in enumerate(files):
        name = os.path.basename(f)
        assert mod.ABBREV[loaded.labels[k]] == name.split("-")[0].split("_")[-1]
        assert loaded.patient[k] == name.split("-")[2]
        with Image.open(f) as im:
            assert im.format == "PNG" and im.mode == "RGB"
            np.testing.assert_array_equal(loaded.images[k], np.asarray(im, np.float32).transpose(2, 0, 1) / 255)


def check_nct_crc_he(root: Path) -> None:
    """Both folders are read as torchvision's ImageFolder reads them (classes = sorted sub-folder names, files sorted
    within each) and every tile is opened with tifffile, the reference TIFF reader: the loader's tiles and classes
    must be those, 8-bit RGB."""
    import tifffile

    mod = _mod("nct_crc_he")
    for split, folder in mod.SPLITS.items():
        base = root / folder
        classes = sorted(p.name for p in base.iterdir() if p.is_dir())
        files = [(f, c) for c in classes for f in sorted((base / c).glob("*.tif"))]
        loaded = mod.load(root, split)
        assert [p for p in loaded.paths] == [f for f, _ in files] and len(files) > 0
        for k, (f, c) in enumerate(files):
            assert mod.CLASSES[loaded.labels[k]] == c and f.name.startswith(c + "-")
            a = tifffile.imread(f)
            assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
            np.testing.assert_array_equal(loaded.images[k], a.astype(np.float32).transpose(2, 0, 1) / 255)


def check_biomedparse_data(root: Path) -> None:
    """glob and Pillow read the layout as the official code does: a mask name split at its last '_' into the
    image file and the target ('+' for spaces, create-customer-datasets.py), the mask as RGB channel 0 > 0 (the
    README's inference example), the image converted to grey."""
    from PIL import Image

    bp = _mod("biomedparse_data")
    for split in ("train", "test"):
        data = bp.load_split(root, split)
        pairs = set()
        for mask_path in sorted((root / f"{split}_mask").glob("*.png")):
            parts = mask_path.name.split("_")
            target = parts[-1].split(".")[0].replace("+", " ")
            image_name = "_".join(parts[:-1]) + ".png"
            i = data.stems.index(image_name[:-4])
            k = [j for j in range(len(data.pair_image))
                 if data.pair_image[j] == i and data.targets[data.pair_target[j]] == target]
            assert len(k) == 1, mask_path
            with Image.open(mask_path) as im:
                np.testing.assert_array_equal(data.masks[k[0]], np.array(im.convert("RGB"))[:, :, 0] > 0)
            with Image.open(root / split / image_name) as im:
                assert im.format == "PNG" and im.mode == "RGB"
                np.testing.assert_array_equal(data.images[i], np.asarray(im.convert("L"), np.float32) / 255)
            pairs.add((i, target))
        assert len(pairs) == len(data.pair_image)


def check_lefusion_lidc(root: Path) -> None:
    """nibabel reads every ROI image and mask (found by the official loaders' rule: /Image -> /Mask, Vol_ -> Mask_)
    as the loader does; the images are int16 HU, the masks 0/1; test.txt splits the pathological ROIs."""
    import nibabel as nib

    lef = _mod("lefusion_lidc")
    for part in ("Pathological", "Normal"):
        for p in lef.image_paths(root, part):
            roi = lef.load_roi(p)
            ref = nib.load(p)
            assert ref.get_data_dtype() == np.int16, p
            np.testing.assert_array_equal(roi.image, ref.get_fdata(dtype=np.float32), err_msg=str(p))
            mp = Path(str(p).replace("/Image", "/Mask")).with_name(p.name.replace("Vol_", "Mask_"))
            np.testing.assert_array_equal(roi.mask, np.asarray(nib.load(mp).dataobj), err_msg=str(mp))
            assert set(np.unique(roi.mask)) <= {0, 1}
    test = {line.strip() for line in (root / "Pathological" / "test.txt").read_text().splitlines() if line.strip()}
    assert {r.name for r in lef.load(root, split="test")} == test
    assert not test & {r.name for r in lef.load(root, split="train")}


def check_dfuc2021(root: Path) -> None:
    """pandas and Pillow read the fixture as challenge entries read DFUC 2021 (``pd.read_csv("DFUC2021_train/
    train.csv")``, the labelled rows first and the class the arg-max of the one-hot columns, images joined from
    ``DFUC2021_train/images``): the loader's labels, unlabelled rows and pixels must be those."""
    import pandas as pd
    from PIL import Image

    mod = _mod("dfuc2021")
    base = root / "DFUC2021_train"
    train = pd.read_csv(base / "train.csv")
    loaded = mod.load(root)
    assert list(train.columns) == ["image", "none", "infection", "ischaemia", "both"]
    assert loaded.names == list(train["image"])
    cols = train[["none", "infection", "ischaemia", "both"]]
    labelled = cols.notna().all(axis=1).to_numpy()
    n_lab = int(labelled.sum())
    assert labelled[:n_lab].all() and not labelled[n_lab:].any(), "labelled rows must come first"
    np.testing.assert_array_equal(loaded.labels[:n_lab], cols[0:n_lab].to_numpy().argmax(1))
    assert (loaded.labels[n_lab:] == -1).all()
    for k, name in enumerate(train["image"]):
        with Image.open(base / "images" / name) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            np.testing.assert_array_equal(loaded.images[k], np.asarray(im, np.float32).transpose(2, 0, 1) / 255)


def check_ct_rate(root: Path) -> None:
    """nibabel and csv read the fixture as CT-CLIP's preprocessing reads CT-RATE (``get_fdata()`` times the metadata
    table's ``RescaleSlope`` plus ``RescaleIntercept``, clipped to [-1000, 1000] HU, divided by 1000, axes (2, 0, 1);
    the findings from ``radiology_text_reports/<split>_reports.csv`` by ``VolumeName``)."""
    import nibabel as nib

    mod = _mod("ct_rate")
    for split, reports_csv, meta_csv in (("train", "train_reports.csv", "train_metadata.csv"),
                                         ("valid", "validation_reports.csv", "validation_metadata.csv")):
        with open(root / "radiology_text_reports" / reports_csv, newline="") as f:
            reports = list(csv.DictReader(f))
        with open(root / "metadata" / meta_csv, newline="") as f:
            meta = {r["VolumeName"]: r for r in csv.DictReader(f)}
        loaded = mod.load(root, split)
        assert loaded.names == [r["VolumeName"] for r in reports]
        assert loaded.findings == [r["Findings_EN"] for r in reports]
        for k, name in enumerate(loaded.names):
            pid, scan = name.split("_")[1], name.split("_")[2]
            path = root / split / f"{split}_{pid}" / f"{split}_{pid}_{scan}" / name
            img = nib.load(path)
            assert img.get_data_dtype() == np.int16, path
            hu = float(meta[name]["RescaleSlope"]) * img.get_fdata() + float(meta[name]["RescaleIntercept"])
            np.testing.assert_allclose(loaded.volumes[k], (np.clip(hu, -1000, 1000) / 1000).transpose(2, 0, 1),
                                       rtol=0, atol=1e-6, err_msg=str(path))


CHECKS = {
    "asoca": (check_asoca, dict(n_cases=3, size=16)),
    "ptbxl": (check_ptbxl, dict(n=6)), "ptbxl_plus": (check_ptbxl_plus, dict(n=6)),
    "bidmc": (check_bidmc, dict(n=3, seconds=20.0)), "mitdb": (check_mitdb, dict(n_records=2, seconds=20.0)),
    "twadb": (check_twadb, dict(n_records=2, seconds=10.0)), "ptb": (check_ptb, dict(n_patients=3, seconds=4.0)),
    "chapman_shaoxing": (check_chapman_shaoxing, dict(n=4)),
    "acdc": (check_acdc, dict(n_training=2, n_testing=1, n_slices=2)),
    "cmrxrecon": (check_cmrxrecon, dict(n_subjects=2)),
    "synapse": (check_synapse, dict(n_train_cases=2, n_test_cases=1, n_slices=2, size=32)),
    "la2018": (check_la2018, dict(n_train=2, n_test=1, shape=(20, 18, 6))),
    "chaos": (check_chaos, dict(n_patients=2, n_slices=2, size=32)),
    "bnci2014_001": (check_bnci2014_001, dict(n_subjects=2)), "isles22": (check_isles22, dict(n_cases=2)),
    "camus": (check_camus, dict(n_patients=2, size=32)), "nih_cxr": (check_nih_cxr, {}),
    "mednist": (check_mednist, dict(n_per_class=2)), "ecg_images": (check_ecg_images, dict(n_per_class=2)),
    "ubfc_rppg": (check_ubfc_rppg, dict(n=1, seconds=2.0)), "mimic_iv": (check_mimic_iv, dict(n_patients=60)),
    "deap": (check_deap, dict(n_subjects=2)), "mimic_cxr": (check_mimic_cxr, dict(n_patients=6)), "mimic_iv_ecg": (check_mimic_iv_ecg, dict(n_subjects=4)),
    "bloodmnist": (check_bloodmnist, {}), "organamnist": (check_organamnist, {}),
    "cactus": (check_cactus, dict(n_scans=2, frames_per_view=1)),
    "fives": (check_fives, dict(n_train=2, n_test=2, size=32)),
    "paxray": (check_paxray, dict(n_patients=4, size=32)),
    "hyper_kvasir": (check_hyper_kvasir, dict(n=12)),
    "cadica": (check_cadica, dict(n_patients=2)),
    "erp_core": (check_erp_core, dict(n_subjects=2)),
    "things_eeg2": (check_things_eeg2, dict(n_subjects=2)),
    "ixi": (check_ixi, dict(n_subjects=2)),
    "isles24": (check_isles24, dict(n_cases=2)),
    "atm22": (check_atm22, dict(n_cases=3, size=16)),
    "medshapenet": (check_medshapenet, dict(n_cases=2)),
    "vqa_rad": (check_vqa_rad, dict(n_images=4)),
    "idrcell100k": (check_idrcell100k, dict(n_per_assay=8)),
    "echonet_dynamic": (check_echonet_dynamic, dict(n_videos=4, size=48)),
    "breakhis": (check_breakhis, dict(n_patients=8, images_per_patient=2)),
    "nct_crc_he": (check_nct_crc_he, dict(n_train_slides=2, n_test_slides=1, tile=24)),
    "biomedparse_data": (check_biomedparse_data, dict(n_train=6, n_test=3, size=32)),
    "lefusion_lidc": (check_lefusion_lidc, dict(n_pathological=9, n_normal=3)),
    "dfuc2021": (check_dfuc2021, dict(n_labelled=12, n_unlabelled=4)),
    "ct_rate": (check_ct_rate, dict(n_train=6, n_valid=2)),
}


def test_every_fixture_has_a_reference_check():
    assert modules_with_fixture() == sorted(CHECKS), "a dataset module with make_fixture needs a check here"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_library_reads_the_fixture_as_the_loader_does(tmp_path, name):
    check, kwargs = CHECKS[name]
    root = _mod(name).make_fixture(tmp_path / name, seed=0, **kwargs)
    assert root is not None and datasets_pkg.is_fixture(root), f"{name}.make_fixture must return the root"
    check(Path(root))
