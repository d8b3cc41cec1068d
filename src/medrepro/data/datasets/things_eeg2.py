"""THINGS-EEG2 (Gifford et al., NeuroImage 2022), preprocessed EEG and precomputed image features.

On-disk layout read here (one folder per subject, as the official THINGS-EEG2 preprocessing code and the ATM
preprocessing script of Li et al. write it)::

    sub-01/preprocessed_eeg_training.npy    {'preprocessed_eeg_data': (n_train_images, 4, C, T), 'ch_names', 'times'}
    sub-01/preprocessed_eeg_test.npy        {'preprocessed_eeg_data': (n_test_images, 80, C, T), 'ch_names', 'times'}
    ...
    ViT-H-14_features_train.pt              {'img_features': (n_train_images, D), 'text_features': (n_concepts, D)}
    ViT-H-14_features_test.pt               {'img_features': (n_test_images, D), 'text_features': (n_test_images, D)}

THINGS-EEG2 has 16,540 training images (1,654 concepts × 10 images, each shown 4 times) and 200 test images (200
concepts × 1 image, each shown 80 times). The release on OSF (osf.io/3jk45) holds 17 occipital/parietal channels at
100 Hz, −0.2 to 0.8 s; the ATM paper re-preprocessed the raw data to 63 channels at 250 Hz, 0 to 1 s. The
training images of a concept are consecutive (image ``i`` belongs to concept ``i // images_per_concept``).

**Two ways the dicts were saved.** The official THINGS-EEG2 code saves them with ``np.save`` (a ``.npy`` file
holding a 0-d object array that pickles the dict); the ATM preprocessing script writes them with
``pickle.dump(..., protocol=4)`` under the same ``.npy`` name, and stores the ``times`` of the epoch *before* it
drops the first 50 samples (its loaders use ``times[50:]``). Both need unpickling — ``np.load(...,
allow_pickle=True)`` in the official code, which can execute code hidden in a tampered file. This loader never
does that: it parses the ``.npy`` header itself and unpickles with a restricted unpickler that accepts numpy
arrays, lists, dicts, strings and numbers only (the one of :mod:`medrepro.data.datasets.deap`), so a file that
holds anything else raises :class:`ThingsEeg2FormatError`. ``times`` longer than the data are cut to their last
``T`` entries (the ATM convention).

The ``*_features_*.pt`` files are the image (and caption) embeddings of a pretrained CLIP model that the ATM code
computes once (open_clip ViT-H-14, LAION-2B weights) and caches with ``torch.save``; they are read with
``torch.load(weights_only=True)`` (tensors only, no code).
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError, load_array_pickle
from . import mark_fixture

DATASET = "things-eeg2"
PARTS: dict[str, str] = {"training": "preprocessed_eeg_training.npy", "test": "preprocessed_eeg_test.npy"}
FEATURES = "{model}_features_{part}.pt"
KEYS = ("preprocessed_eeg_data", "ch_names", "times")


class ThingsEeg2FormatError(FormatError):
    """A THINGS-EEG2 file is malformed or holds something other than the expected arrays; names the file."""


@dataclass
class EegPart:
    """One subject's training or test EEG: ``data`` (images, repetitions, channels, times), float32."""

    data: np.ndarray
    ch_names: tuple[str, ...]
    times: np.ndarray
    path: Path


def subject_dir(root: str | os.PathLike[str], subject: int) -> Path:
    """``root/sub-01`` for subject 1."""
    if not 1 <= int(subject) <= 99:
        raise ValueError(f"THINGS-EEG2 subjects are numbered 1-10, got {subject}")
    return Path(root) / f"sub-{int(subject):02d}"


def subjects_present(root: str | os.PathLike[str]) -> list[int]:
    """Subjects whose folder holds both the training and the test file, in order."""
    root = Path(root)
    out = []
    for p in sorted(root.glob("sub-[0-9][0-9]")):
        if p.is_dir() and all((p / f).is_file() for f in PARTS.values()):
            out.append(int(p.name[4:]))
    return out


def _unpickle_dict(path: Path) -> dict:
    """The dict a THINGS-EEG2 ``.npy`` file holds (``np.save`` or plain ``pickle.dump``), restricted unpickling."""
    with open(path, "rb") as fh:
        head = fh.read(6)
        fh.seek(0)
        try:
            if head == b"\x93NUMPY":
                version = np.lib.format.read_magic(fh)
                reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
                if version not in reader:
                    raise ThingsEeg2FormatError(f"{path}: .npy format version {version} is not supported")
                shape, _, dtype = reader[version](fh)
                if dtype != np.dtype(object) or shape != ():
                    raise ThingsEeg2FormatError(
                        f"{path}: holds a plain {dtype} array of shape {shape}, not the pickled dict of the "
                        "THINGS-EEG2 release ({'preprocessed_eeg_data', 'ch_names', 'times'})")
                obj = load_array_pickle(fh)
                obj = obj.item() if isinstance(obj, np.ndarray) and obj.shape == () else obj
            else:
                obj = load_array_pickle(fh)
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
            if isinstance(exc, ThingsEeg2FormatError):
                raise
            raise ThingsEeg2FormatError(f"{path}: not a THINGS-EEG2 preprocessed file ({exc})") from exc
    if not isinstance(obj, dict) or not set(KEYS) <= set(obj):
        found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise ThingsEeg2FormatError(f"{path}: expected a dict with keys {list(KEYS)}, found {found}")
    return obj


def load_part(path: str | os.PathLike[str], *, n_reps: int | None = None) -> EegPart:
    """Read one ``preprocessed_eeg_{training,test}.npy`` file.

    Checks: a dict with the three keys; data of 4 dimensions (images, repetitions, channels, times), finite;
    ``ch_names`` one name per channel; ``times`` at least as long as the data's time axis (longer: the last ``T``
    entries are kept, the ATM convention); ``n_reps`` when given. Errors name the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"THINGS-EEG2 file not found: {path}")
    obj = _unpickle_dict(path)
    data = np.asarray(obj["preprocessed_eeg_data"])
    if data.ndim != 4:
        raise ThingsEeg2FormatError(f"{path}: 'preprocessed_eeg_data' has shape {data.shape}, expected "
                                    "(images, repetitions, channels, times)")
    if n_reps is not None and data.shape[1] != n_reps:
        raise ThingsEeg2FormatError(f"{path}: {data.shape[1]} repetitions per image, expected {n_reps}")
    names = tuple(str(c) for c in obj["ch_names"])
    if len(names) != data.shape[2]:
        raise ThingsEeg2FormatError(f"{path}: {len(names)} channel names for {data.shape[2]} channels")
    t = np.asarray(obj["times"], np.float64).ravel()
    if len(t) < data.shape[3]:
        raise ThingsEeg2FormatError(f"{path}: {len(t)} time points in 'times', the data have {data.shape[3]}")
    data = data.astype(np.float32, copy=False)
    if not np.isfinite(data).all():
        raise ThingsEeg2FormatError(f"{path}: the EEG holds NaN or infinite values")
    return EegPart(data, names, t[len(t) - data.shape[3]:], path)


def load_subject(root: str | os.PathLike[str], subject: int) -> tuple[EegPart, EegPart]:
    """(training, test) parts of one subject; the two must share channels and times."""
    d = subject_dir(root, subject)
    train, test = load_part(d / PARTS["training"]), load_part(d / PARTS["test"])
    if train.ch_names != test.ch_names or not np.allclose(train.times, test.times):
        raise ThingsEeg2FormatError(f"{d}: training and test files differ in channels or times")
    return train, test


def load_features(root: str | os.PathLike[str], model: str = "ViT-H-14") -> dict[str, np.ndarray]:
    """The cached image/caption embeddings: ``{"train_img", "train_text", "test_img", "test_text"}`` as float32."""
    import torch

    out = {}
    for part in ("train", "test"):
        path = Path(root) / FEATURES.format(model=model, part=part)
        if not path.is_file():
            raise FileNotFoundError(f"image features not found: {path} (see data_manifests/things-eeg2.yaml for "
                                    "how to compute them)")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for a bad file
            raise ThingsEeg2FormatError(f"{path}: not a torch file of feature tensors ({exc})") from exc
        if not isinstance(obj, dict) or not {"img_features", "text_features"} <= set(obj):
            raise ThingsEeg2FormatError(f"{path}: expected a dict with 'img_features' and 'text_features'")
        img, txt = (np.asarray(obj[k].float().numpy() if hasattr(obj[k], "numpy") else obj[k], np.float32)
                    for k in ("img_features", "text_features"))
        if img.ndim != 2 or txt.ndim != 2 or img.shape[1] != txt.shape[1]:
            raise ThingsEeg2FormatError(f"{path}: features of shapes {img.shape} and {txt.shape}, expected "
                                        "(n, D) and (n_concepts, D)")
        out[f"{part}_img"], out[f"{part}_text"] = img, txt
    if out["train_img"].shape[1] != out["test_img"].shape[1]:
        raise ThingsEeg2FormatError(f"{root}: training and test features differ in size")
    return out


def write_part(path: str | os.PathLike[str], data: np.ndarray, ch_names: Sequence[str], times: np.ndarray,
               *, style: str = "numpy") -> Path:
    """Write one part as the official code does: ``style="numpy"`` (``np.save`` of the dict, THINGS-EEG2) or
    ``"pickle"`` (``pickle.dump`` protocol 4, the ATM script). Refuses to overwrite; atomic."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
    payload = {"preprocessed_eeg_data": np.asarray(data), "ch_names": list(ch_names), "times": np.asarray(times)}
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as fh:
            if style == "numpy":
                np.save(fh, payload, allow_pickle=True)
            elif style == "pickle":
                pickle.dump(payload, fh, protocol=4)
            else:
                raise ValueError(f"style must be 'numpy' or 'pickle', got {style!r}")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_features(root: str | os.PathLike[str], part: str, img: np.ndarray, text: np.ndarray,
                   model: str = "ViT-H-14") -> Path:
    """Write ``<model>_features_<part>.pt`` with ``torch.save`` (tensors, as the ATM code caches them)."""
    import torch

    path = Path(root) / FEATURES.format(model=model, part=part)
    if path.exists():
        raise FileExistsError(f"{path} exists; medrepro does not overwrite dataset files")
    torch.save({"img_features": torch.as_tensor(np.asarray(img, np.float32)),
                "text_features": torch.as_tensor(np.asarray(text, np.float32))}, path)
    return path


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_subjects: int = 2, n_concepts: int = 12,
                 images_per_concept: int = 2, n_test: int = 8, test_reps: int = 6) -> Path:
    """A miniature of the layout with simulated EEG (17 channels, 100 Hz, −0.2 to 0.8 s as the OSF release) and
    PCA stand-in features: subject 1 saved with ``np.save`` (THINGS-EEG2 code), the others with ``pickle.dump``
    and the ATM convention of 50 extra leading ``times``."""
    from ...sim.eeg_visual import VisualEegSpec, latent_features, pca_features, simulate_visual_eeg, times
    from ...sim.mednist import MedNISTSpec, simulate_mednist

    root = Path(root)
    n_train = n_concepts * images_per_concept
    imgs = simulate_mednist(-(-(n_train + n_test) // 6), seed=seed, spec=MedNISTSpec(size=16)).images
    imgs = imgs[np.random.default_rng(seed).permutation(len(imgs))][: n_train + n_test].astype(np.float32) / 255
    tr, te = imgs[:n_train], imgs[n_train:]
    spec = VisualEegSpec(n_sources=4)
    ftr, fte = pca_features(tr, te, dim=8)
    subj_tr = simulate_visual_eeg(latent_features(ftr, 4, brain_pcs=4), 4, n_subjects, spec=spec, seed=seed)
    subj_te = simulate_visual_eeg(latent_features(fte, 4, brain_pcs=4), test_reps, n_subjects, spec=spec,
                                  seed=seed + 1)
    t = times(spec)
    for k, (a, b) in enumerate(zip(subj_tr, subj_te)):
        d = subject_dir(root, k + 1)
        d.mkdir(parents=True, exist_ok=True)
        style = "numpy" if k == 0 else "pickle"
        tt = t if k == 0 else np.concatenate([t[0] - (np.arange(50, 0, -1)) / spec.fs, t])
        write_part(d / PARTS["training"], a.eeg, spec.ch_names, tt, style=style)
        write_part(d / PARTS["test"], b.eeg, spec.ch_names, tt, style=style)
    concept_text = ftr.reshape(n_concepts, images_per_concept, -1).mean(1)
    write_features(root, "train", ftr, concept_text)
    write_features(root, "test", fte, fte)
    mark_fixture(root, DATASET)
    return root


__all__ = ["DATASET", "PARTS", "FEATURES", "ThingsEeg2FormatError", "EegPart", "subject_dir", "subjects_present",
           "load_part", "load_subject", "load_features", "write_part", "write_features", "make_fixture"]
