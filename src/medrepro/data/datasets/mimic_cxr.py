"""MIMIC-CXR / MIMIC-CXR-JPG: chest radiographs with their free-text reports and CheXpert labels.

The real layout (PhysioNet, credentialed access; MIMIC-CXR-JPG 2.0.0/2.1.0, with the reports of MIMIC-CXR 2.0.0
unpacked into the same folder)::

    mimic-cxr-2.0.0-metadata.csv.gz   dicom_id,subject_id,study_id,PerformedProcedureStepDescription,
                                      ViewPosition,Rows,Columns,StudyDate,StudyTime,... (one row per image)
    mimic-cxr-2.0.0-chexpert.csv.gz   subject_id,study_id,Atelectasis,Cardiomegaly,... (one row per study;
                                      1.0 positive, 0.0 negative, -1.0 uncertain, blank not mentioned)
    mimic-cxr-2.0.0-split.csv.gz      dicom_id,study_id,subject_id,split  (train / validate / test, by patient)
    files/p10/p10000032/s50414267/<dicom_id>.jpg    the image (MIMIC-CXR-JPG; MIMIC-CXR itself has .dcm here)
    files/p10/p10000032/s50414267.txt               the study's report (from mimic-cxr-reports.zip)

The folder ``pXX`` is the first two digits of the subject id. Images are read with
:func:`medrepro.data.radiograph.read_radiograph` (JPEG, or DICOM when the ``.dcm`` of MIMIC-CXR is there
instead), reports with :func:`read_report`, and split into sections (:func:`report_sections`) and
sentences (:func:`report_sentences`) — ConVIRT samples one sentence of the findings and impression.

:func:`write_layout` writes images, reports and labels in this layout (the smoke run writes simulated films as
DICOM, as MIMIC-CXR distributes them, and reads them back through :func:`load`, as full mode reads the real
files); :func:`make_fixture` writes a miniature MIMIC-CXR-JPG (JPEGs written by Pillow) for the tests.
"""
from __future__ import annotations

import csv
import gzip
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import folder_holding, mark_fixture

METADATA = "mimic-cxr-2.0.0-metadata.csv.gz"
CHEXPERT = "mimic-cxr-2.0.0-chexpert.csv.gz"
SPLIT = "mimic-cxr-2.0.0-split.csv.gz"
#: The 14 CheXpert observations, in the column order of ``mimic-cxr-2.0.0-chexpert.csv.gz``.
CHEXPERT_LABELS: tuple[str, ...] = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema",
                                    "Enlarged Cardiomediastinum", "Fracture", "Lung Lesion", "Lung Opacity",
                                    "No Finding", "Pleural Effusion", "Pleural Other", "Pneumonia", "Pneumothorax",
                                    "Support Devices")
#: The five competition labels of CheXpert (Irvin et al. 2019), the usual downstream task.
CHEXPERT5: tuple[str, ...] = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")
METADATA_HEADER = ("dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition",
                   "Rows", "Columns", "StudyDate", "StudyTime", "ProcedureCodeSequence_CodeMeaning",
                   "ViewCodeSequence_CodeMeaning", "PatientOrientationCodeSequence_CodeMeaning")
#: Simulator finding -> CheXpert observation, for the smoke run and the fixture.
SIM_TO_CHEXPERT = {"cardiomegaly": "Cardiomegaly", "effusion": "Pleural Effusion", "nodule": "Lung Lesion",
                   "consolidation": "Consolidation", "pneumothorax": "Pneumothorax", "atelectasis": "Atelectasis"}
#: ``ViewPosition`` -> ``ViewCodeSequence_CodeMeaning`` as MIMIC-CXR's metadata pairs them.
VIEW_MEANING = {"PA": "postero-anterior", "AP": "antero-posterior", "LL": "left lateral", "LATERAL": "lateral"}
_HEADER = re.compile(r"(?:^|\n)[ \t]*([A-Z][A-Z /&-]{2,40}):", re.MULTILINE)


class MimicCxrFormatError(FormatError):
    """A MIMIC-CXR file that does not have the published layout."""


@dataclass
class MimicCxrData:
    """Frontal films with their patients, studies, split, CheXpert labels and report texts (row-aligned)."""

    images: np.ndarray            # (n, size, size) float32 in [0, 1], display convention
    subject: np.ndarray           # (n,) int patient ids
    study: np.ndarray             # (n,) int study ids
    dicom_id: list[str]
    split: np.ndarray             # (n,) "train" / "validate" / "test"
    labels: np.ndarray            # (n, K) float: 1 positive, 0 negative, -1 uncertain, NaN not mentioned
    label_names: tuple[str, ...]
    reports: list[str]            # the full report text of each film's study
    study_datetime: np.ndarray | None = None   # (n,) int YYYYMMDDHHMMSS from StudyDate + StudyTime (-1: missing)
    view: np.ndarray | None = None             # (n,) str ViewPosition of each film ("PA", "AP", "LL", "LATERAL")

    def __len__(self) -> int:
        return len(self.images)


def _datetime(date: str, time: str) -> int:
    """``StudyDate`` (YYYYMMDD) and ``StudyTime`` (HHMMSS.fff) of the metadata table as one integer; -1 if absent."""
    date, time = (date or "").strip(), (time or "").strip()
    if not re.fullmatch(r"\d{8}", date):
        return -1
    hms = time.split(".")[0] if re.fullmatch(r"\d{1,6}(\.\d*)?", time) else "0"
    return int(date) * 1_000_000 + int(hms.zfill(6))


def prior_index(data: MimicCxrData) -> np.ndarray:
    """For each film, the row of a film of the same patient's latest *earlier* study; -1 when there is none.

    Studies are ordered by ``StudyDate`` + ``StudyTime`` (MIMIC-CXR's dates are shifted per patient, consistently,
    so the order within a patient is real); a study's own other films never count as its prior. Libra pairs each
    current study with the prior study this way and uses the current film as a dummy prior when none exists.
    """
    if data.study_datetime is None:
        raise MimicCxrFormatError("the films were read without study dates (StudyDate/StudyTime), so no prior "
                                  "study can be found")
    when = np.asarray(data.study_datetime)
    out = np.full(len(data), -1, dtype=int)
    for s in np.unique(data.subject):
        rows = np.flatnonzero(data.subject == s)
        for i in rows:
            earlier = rows[(when[rows] < when[i]) & (when[rows] >= 0) & (data.study[rows] != data.study[i])]
            if len(earlier) and when[i] >= 0:
                out[i] = int(earlier[np.argmax(when[earlier])])   # first of the latest
    return out


def study_dir(root: str | os.PathLike[str], subject: int, study: int) -> Path:
    """``files/pXX/p<subject>/s<study>`` (XX: the first two digits of the subject id)."""
    s = str(int(subject))
    return Path(root) / "files" / f"p{s[:2]}" / f"p{s}" / f"s{int(study)}"


def report_path(root: str | os.PathLike[str], subject: int, study: int) -> Path:
    d = study_dir(root, subject, study)
    return d.parent / f"{d.name}.txt"


def read_report(path: str | os.PathLike[str]) -> str:
    """The text of one report file (UTF-8; MIMIC-CXR's are ASCII)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"report not found: {path} (unpack mimic-cxr-reports.zip of MIMIC-CXR 2.0.0 "
                                "into the data folder, so that files/pXX/p<subject>/s<study>.txt exist)")
    return path.read_text(encoding="utf-8", errors="replace")


def report_sections(text: str) -> dict[str, str]:
    """Split a report at its upper-case headers (``FINDINGS:``, ``IMPRESSION:``, ...) into whitespace-collapsed
    sections; text before the first header is under ``""``. A repeated header keeps the later text appended."""
    out: dict[str, str] = {}
    marks = list(_HEADER.finditer(text))
    bounds = [(None, 0, marks[0].start() if marks else len(text))] + [
        (m.group(1).strip(), m.end(), marks[i + 1].start() if i + 1 < len(marks) else len(text))
        for i, m in enumerate(marks)]
    for name, a, b in bounds:
        body = " ".join(text[a:b].split())
        key = name or ""
        if body or key:
            out[key] = f"{out[key]} {body}".strip() if key in out else body
    return out


def report_sentences(text: str, sections: Sequence[str] = ("FINDINGS", "IMPRESSION")) -> list[str]:
    """The sentences of the named sections (lower-cased, split at ``.``, list numbers and empty pieces dropped).

    Falls back to the whole report when none of the sections is present (some MIMIC-CXR reports have no
    headers).
    """
    secs = report_sections(text)
    body = " ".join(secs[s] for s in sections if secs.get(s))
    if not body:
        body = " ".join(v for k, v in secs.items() if k not in ("INDICATION", "HISTORY", "EXAMINATION",
                                                                 "TECHNIQUE", "COMPARISON"))
    pieces = re.split(r"\.(?:\s+|$)|\n", body.lower())
    return [p.strip(" ;,") for p in pieces if re.search(r"[a-z]{2}", p)]


def _read_gz_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path.name} not found in {path.parent}: is this the MIMIC-CXR-JPG folder?")
    with gzip.open(path, "rt", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise MimicCxrFormatError(f"{path}: columns {missing} missing (header: {reader.fieldnames})")
        return list(reader)


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder that holds the metadata file (``path`` itself, or one of its children)."""
    return folder_holding(path, METADATA, "mimic_cxr")


def load(root: str | os.PathLike[str], *, size: int = 64, labels: Sequence[str] = CHEXPERT5,
         views: Sequence[str] = ("PA", "AP"), max_images: int | None = None, seed: int = 0,
         reports_root: str | os.PathLike[str] | None = None) -> MimicCxrData:
    """Read the frontal films (``views``), resized to ``size``, with their labels, split and report texts.

    Other views are read when named: ``views=("PA", "LL", "LATERAL")`` gives the frontal and lateral films of
    each study, with each film's ``ViewPosition`` in ``view``.

    ``max_images`` keeps whole patients, drawn at random (seeded), until that many films are read (the release
    has 377,110 images). Films whose image file or report is missing are skipped with a count in the error when
    none is left. ``reports_root`` is the folder holding ``files/.../s<study>.txt`` when it is not ``root``.
    """
    from ..radiograph import read_radiograph

    root = find_root(root)
    rroot = Path(reports_root) if reports_root is not None else root
    meta = _read_gz_csv(root / METADATA, ("dicom_id", "subject_id", "study_id", "ViewPosition"))
    split = {r["dicom_id"]: r["split"] for r in _read_gz_csv(root / SPLIT, ("dicom_id", "split"))}
    chex = {(int(r["subject_id"]), int(r["study_id"])): r
            for r in _read_gz_csv(root / CHEXPERT, ("subject_id", "study_id", *labels))}
    rows = [r for r in meta if r["ViewPosition"] in views]
    if max_images is not None and max_images < len(rows):
        subjects = np.array([int(r["subject_id"]) for r in rows])
        chosen: set[int] = set()
        count = 0
        for s in np.random.default_rng(seed).permutation(np.unique(subjects)):
            if count >= max_images:
                break
            chosen.add(int(s))
            count += int((subjects == s).sum())
        rows = [r for r in rows if int(r["subject_id"]) in chosen]
    images, keep, texts, missing = [], [], [], 0
    cache: dict[tuple[int, int], str] = {}
    for r in rows:
        sub, stu = int(r["subject_id"]), int(r["study_id"])
        d = study_dir(root, sub, stu)
        img = next((d / f"{r['dicom_id']}{ext}" for ext in (".jpg", ".dcm") if (d / f"{r['dicom_id']}{ext}").is_file()),
                   None)
        rep = report_path(rroot, sub, stu)
        if img is None or not rep.is_file() or r["dicom_id"] not in split:
            missing += 1
            continue
        if (sub, stu) not in cache:
            cache[(sub, stu)] = read_report(rep)
        images.append(read_radiograph(img, size=size).image)
        keep.append(r)
        texts.append(cache[(sub, stu)])
    if not keep:
        raise MimicCxrFormatError(f"{root}: none of the {len(rows)} frontal films listed has its image, report "
                                  f"and split row ({missing} incomplete); see data_manifests/mimic_cxr.yaml")

    def value(v: str) -> float:
        return float(v) if v not in ("", None) else np.nan

    lab = np.array([[value(chex.get((int(r["subject_id"]), int(r["study_id"])), {}).get(c, ""))
                     for c in labels] for r in keep], dtype=float).reshape(len(keep), len(labels))
    return MimicCxrData(np.stack(images).astype(np.float32), np.array([int(r["subject_id"]) for r in keep]),
                        np.array([int(r["study_id"]) for r in keep]), [r["dicom_id"] for r in keep],
                        np.array([split[r["dicom_id"]] for r in keep]), lab, tuple(labels), texts,
                        np.array([_datetime(r.get("StudyDate", ""), r.get("StudyTime", "")) for r in keep],
                                 dtype=np.int64),
                        np.array([r["ViewPosition"] for r in keep]))


def binarise(labels: np.ndarray, uncertain: str = "ones") -> np.ndarray:
    """CheXpert values to 0/1: positive 1, negative and not mentioned 0, uncertain (−1) to 1 (``"ones"``, the
    U-Ones policy) or 0 (``"zeros"``)."""
    if uncertain not in ("ones", "zeros"):
        raise ValueError(f"uncertain must be 'ones' or 'zeros', got {uncertain!r}")
    lab = np.asarray(labels, float)
    return ((lab == 1) | ((lab == -1) & (uncertain == "ones"))).astype(np.int64)


def format_report(indication: str, findings: str, impression: str, comparison: str | None = None) -> str:
    """A report in the shape of MIMIC-CXR's text files (title line, upper-case headers, blank lines)."""
    parts = ["                                 FINAL REPORT", " EXAMINATION:  CHEST (PA AND LAT)", " "]
    if indication:
        parts += [f" INDICATION:  {indication}", " "]
    parts += [f" COMPARISON:  {comparison or 'None.'}", " ", " FINDINGS:", " ", f" {findings}", " ",
              " IMPRESSION:", " ", f" {impression}", ""]
    return "\n".join(parts)


def write_layout(root: str | os.PathLike[str], images: np.ndarray, subject: np.ndarray, study: np.ndarray,
                 labels: np.ndarray, label_names: Sequence[str], reports: Sequence[str], split: Sequence[str], *,
                 image_format: str = "dcm", seed: int = 0,
                 study_dates: Sequence[int] | None = None,
                 views: Sequence[str] | None = None) -> tuple[Path, list[str]]:
    """Write films (``(n, H, W)`` in [0, 1]), one report per study and the three CSV files under ``root``.

    ``labels`` ``(n, K)`` bool over ``label_names`` (CheXpert names) are written as 1.0 / 0.0 per study (the
    simulator's truth, not a labeller's output; "No Finding" is 1.0 when none is present). ``image_format``
    ``"dcm"`` writes 12-bit DICOM CR (MIMIC-CXR) with :func:`medrepro.data.radiograph.write_radiograph_dicom`;
    ``"jpg"`` 8-bit JPEGs with Pillow (MIMIC-CXR-JPG). ``study_dates`` (YYYYMMDD per row) fills ``StudyDate``
    (default: a date derived from the study id). ``views`` gives each row's ``ViewPosition`` (default ``"PA"``
    for all; ``"LL"`` for a left-lateral film), written to the metadata table and the DICOM header. Returns the
    root and the dicom ids in row order.
    """
    from PIL import Image

    from ...sim.cxr import to_uint
    from ..radiograph import write_radiograph_dicom

    if image_format not in ("dcm", "jpg"):
        raise ValueError(f"image_format must be 'dcm' or 'jpg', got {image_format!r}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n, size = len(images), images.shape[-1]
    views = ["PA"] * n if views is None else [str(v) for v in views]
    if len(views) != n:
        raise ValueError(f"views has {len(views)} entries for {n} images")
    unknown = sorted(set(views) - set(VIEW_MEANING))
    if unknown:
        raise ValueError(f"unknown ViewPosition {unknown}; MIMIC-CXR uses {sorted(VIEW_MEANING)}")
    ids = ["-".join(f"{int(v):08x}" for v in rng.integers(0, 2**32, 5)) for _ in range(n)]
    for i in range(n):
        d = study_dir(root, subject[i], study[i])
        d.mkdir(parents=True, exist_ok=True)
        if image_format == "dcm":
            write_radiograph_dicom(d / f"{ids[i]}.dcm", to_uint(images[i][None], 12)[0], bits_stored=12,
                                   patient_id=str(int(subject[i])), view_position=views[i])
        else:
            Image.fromarray(np.round(np.clip(images[i], 0, 1) * 255).astype(np.uint8), mode="L").save(
                d / f"{ids[i]}.jpg", format="JPEG", quality=95)
        rp = report_path(root, subject[i], study[i])
        if not rp.is_file():
            rp.write_text(reports[i], encoding="utf-8")
    with gzip.open(root / METADATA, "wt", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(METADATA_HEADER)
        for i in range(n):
            w.writerow([ids[i], int(subject[i]), int(study[i]), "CHEST (PA AND LAT)", views[i], size, size,
                        int(study_dates[i]) if study_dates is not None else 21800101 + int(study[i]) % 28,
                        "120000.000", "Chest PA and Lateral", VIEW_MEANING[views[i]],
                        "Erect"])
    names = list(label_names)
    with gzip.open(root / CHEXPERT, "wt", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["subject_id", "study_id", *CHEXPERT_LABELS])
        seen = set()
        for i in range(n):
            key = (int(subject[i]), int(study[i]))
            if key in seen:
                continue
            seen.add(key)
            row = {c: "" for c in CHEXPERT_LABELS}
            for k, c in enumerate(names):
                row[c] = "1.0" if labels[i, k] else "0.0"
            row["No Finding"] = "" if labels[i].any() else "1.0"
            w.writerow([*key, *(row[c] for c in CHEXPERT_LABELS)])
    with gzip.open(root / SPLIT, "wt", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["dicom_id", "study_id", "subject_id", "split"])
        for i in range(n):
            w.writerow([ids[i], int(study[i]), int(subject[i]), split[i]])
    return root, ids


def simulated_layout(root: str | os.PathLike[str], n_patients: int, *, size: int = 64, spec=None, seed: int = 0,
                     test_fraction: float = 0.25, image_format: str = "dcm", report_kw: dict | None = None,
                     change_prob: float = 0.5, resolve_prob: float | None = None, lateral: bool = False):
    """Simulate two studies (a prior and a current film) per patient, with reports, in the MIMIC-CXR layout.

    Patients ``10000000 + i``; the split is by patient (``test_fraction`` test, the rest train). Returns
    ``(root, truth)``: ``truth`` holds the films as simulated, the simulator's labels over
    :data:`medrepro.sim.cxr.FINDINGS`, the patients, the dicom ids and the report objects, in row order.
    ``report_kw`` passes knobs to :func:`medrepro.sim.cxr_reports.generate_reports`; ``change_prob`` and
    ``resolve_prob`` to :func:`medrepro.sim.cxr.prior_params`. The prior study is dated a year before the current
    one (``StudyDate``), so :func:`prior_index` pairs them; ``truth["changes"]`` holds the change codes of the
    current rows (prior rows: ``-1``). With ``lateral=True`` each current study also has a left-lateral film
    (:func:`medrepro.sim.cxr.render_lateral` of the same patient), appended after the frontal rows
    (``truth["view"]`` holds each row's ``ViewPosition``); the frontal rows are the same as without it.
    """
    from ...sim import cxr
    from ...sim.cxr_reports import generate_reports

    spec = spec or cxr.CxrSpec(size=size)
    kw = dict(report_kw or {})
    cur_p = cxr.sample_params(n_patients, spec, seed=seed)
    prior_p, change = cxr.prior_params(cur_p, seed=seed + 1, spec=spec, change_prob=change_prob,
                                       resolve_prob=resolve_prob)
    prior = cxr.render(prior_p, size, seed=seed + 2, texture=spec.texture)
    cur = cxr.render(cur_p, size, seed=seed + 3, texture=spec.texture)
    reps = (generate_reports(prior_p.labels, prior_p.severity, prior_p.side, prior_p.where, seed=seed + 4, **kw)
            + generate_reports(cur_p.labels, cur_p.severity, cur_p.side, cur_p.where, changes=change,
                               seed=seed + 5, **kw))
    rng = np.random.default_rng(seed + 6)
    is_test = rng.permutation(n_patients) < round(test_fraction * n_patients)
    subject = np.concatenate([10000000 + np.arange(n_patients)] * 2)
    study = 50000000 + np.arange(2 * n_patients)
    images = np.concatenate([prior.images, cur.images])
    labels = np.concatenate([prior.labels, cur.labels])
    split = np.where(np.concatenate([is_test] * 2), "test", "train")
    texts = [format_report(r.indication, r.findings, r.impression,
                           "Chest radiograph of the prior study." if j >= n_patients else None)
             for j, r in enumerate(reps)]
    dates = [21800101 + i % 28 for i in range(n_patients)] + [21810101 + i % 28 for i in range(n_patients)]
    changes = np.concatenate([np.full_like(change, -1), change])
    views = ["PA"] * (2 * n_patients)
    if lateral:
        lat = cxr.render_lateral(cur_p, size, seed=seed + 8, texture=spec.texture)
        images = np.concatenate([images, lat.images])
        labels = np.concatenate([labels, lat.labels])
        subject, study = np.concatenate([subject, subject[n_patients:]]), np.concatenate([study, study[n_patients:]])
        split = np.concatenate([split, split[n_patients:]])
        texts, reps, dates = texts + texts[n_patients:], reps + reps[n_patients:], dates + dates[n_patients:]
        changes = np.concatenate([changes, change])
        views += ["LL"] * n_patients
    _, ids = write_layout(root, images, subject, study, labels, [SIM_TO_CHEXPERT[f] for f in cxr.FINDINGS], texts,
                          split, image_format=image_format, seed=seed + 7, study_dates=dates, views=views)
    truth = {"images": images, "labels": labels, "subject": subject, "dicom_id": ids, "reports": reps,
             "label_names": tuple(SIM_TO_CHEXPERT[f] for f in cxr.FINDINGS), "changes": changes,
             "view": np.array(views)}
    return Path(root), truth


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 16) -> Path:
    """A miniature MIMIC-CXR-JPG (two studies per patient, 64 × 64 JPEGs, reports, the three CSV files).

    The current study of each patient has a left-lateral film (``ViewPosition`` ``LL``) beside its PA film.
    """
    from ...sim import cxr

    root = Path(root)
    # a high prevalence, so that the test patients hold positives and negatives of most labels
    spec = cxr.with_prevalence(cxr.CxrSpec(size=64), **{f: 0.4 for f in cxr.FINDINGS})
    simulated_layout(root, n_patients, size=64, spec=spec, seed=seed, test_fraction=0.5, image_format="jpg",
                     lateral=True)
    mark_fixture(root, "mimic_cxr")
    return root
