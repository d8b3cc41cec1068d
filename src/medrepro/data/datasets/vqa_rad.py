"""VQA-RAD: clinician-written questions and answers about radiology images (Lau et al., Sci. Data 2018).

The release on the Open Science Framework (https://osf.io/89kps/) unpacks to::

    VQA_RAD Dataset Public.json     a list of question records (fields below)
    VQA_RAD Image Folder/           the images, e.g. synpic54610.jpg (JPEG)

(the same records also ship as ``.xlsx`` and ``.xml``; only the JSON is read). The fields of a record used
here are ``qid``, ``image_name``, ``question``, ``answer`` (a string, sometimes a number in the JSON),
``answer_type`` (``CLOSED`` or ``OPEN``, stripped and upper-cased here), ``question_type`` (``PRES``, ``POS``,
``ABN``, ``MODALITY``, ``ORGAN``, ``SIZE``, ``PLANE``, ... sometimes two joined by a comma), ``phrase_type``
(``freeform``, ``para``, ``test_freeform``, ``test_para``) and ``image_organ``. The test set is the records
whose ``phrase_type`` starts with ``test`` (the split the published VQA-RAD benchmarks use; not confirmed
against the release's README from here).

:func:`load` reads the records (and, on request, the images through Pillow); :func:`read_predictions` reads a
predictions file a user supplies from any model (JSON Lines, one ``{"qid": ..., "answer": "..."}`` per
line); :func:`score` scores free-text predictions (closed answers parsed to yes/no by
:func:`medrepro.text.answers.parse_yes_no`, open answers by normalised exact match), counting missing and
unparseable answers as wrong and reporting how many there were; :func:`baselines` gives the trivial answers
a table can be read against. :func:`write_layout` writes question records and images in this layout (the
smoke run writes questions about simulated chest films); :func:`make_fixture` writes a miniature.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..io import FormatError
from . import folder_holding, mark_fixture

QUESTIONS = "VQA_RAD Dataset Public.json"
IMAGES = "VQA_RAD Image Folder"
REQUIRED = ("qid", "image_name", "question", "answer", "answer_type")


class VqaRadFormatError(FormatError):
    """A VQA-RAD file that does not have the published layout."""


@dataclass
class VqaRadItem:
    """One question record (strings as in the JSON; ``answer_type`` normalised to ``CLOSED``/``OPEN``)."""

    qid: str
    image_name: str
    question: str
    answer: str
    answer_type: str
    question_type: str = ""
    phrase_type: str = ""
    image_organ: str = ""

    @property
    def split(self) -> str:
        return "test" if self.phrase_type.lower().startswith("test") else "train"


@dataclass
class VqaRadData:
    """The question records of one split, the image folder, and (when read) the images by name."""

    items: list[VqaRadItem]
    root: Path
    images: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.items)


def find_root(path: str | os.PathLike[str]) -> Path:
    """The folder that holds the question JSON (``path`` itself, or one of its children)."""
    return folder_holding(path, QUESTIONS, "vqa_rad")


def _item(rec: dict, where: str) -> VqaRadItem:
    if not isinstance(rec, dict):
        raise VqaRadFormatError(f"{where}: a question record must be a JSON object, got {type(rec).__name__}")
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        raise VqaRadFormatError(f"{where}: record qid={rec.get('qid')!r} lacks {missing}")
    at = str(rec["answer_type"]).strip().upper()
    if at not in ("CLOSED", "OPEN"):
        raise VqaRadFormatError(f"{where}: record qid={rec['qid']!r} has answer_type {rec['answer_type']!r} "
                                "(expected CLOSED or OPEN)")
    return VqaRadItem(str(rec["qid"]), str(rec["image_name"]), str(rec["question"]), str(rec["answer"]).strip(), at,
                      str(rec.get("question_type", "") or ""), str(rec.get("phrase_type", "") or ""),
                      str(rec.get("image_organ", "") or ""))


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A VQA-RAD image as float32 grey levels in [0, 1] (Pillow decodes it; colour is converted to luminance)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path.name} not found in {path.parent}")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L"), np.float32) / 255.0
    except UnidentifiedImageError as exc:
        raise VqaRadFormatError(f"{path}: not an image Pillow can read ({exc})") from exc


def load(root: str | os.PathLike[str], *, split: str | None = "test", read_images: bool = False) -> VqaRadData:
    """Read the question records of ``split`` (``"test"``, ``"train"`` or ``None`` for all).

    With ``read_images`` the images the records name are read (each once); a missing image raises, naming it.
    """
    if split not in ("test", "train", None):
        raise ValueError(f"split must be 'test', 'train' or None, got {split!r}")
    root = find_root(root)
    path = root / QUESTIONS
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VqaRadFormatError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(raw, list):
        raise VqaRadFormatError(f"{path}: expected a list of question records, got {type(raw).__name__}")
    items = [_item(r, f"{path.name}[{i}]") for i, r in enumerate(raw)]
    if split is not None:
        items = [it for it in items if it.split == split]
    if not items:
        raise VqaRadFormatError(f"{path}: no question records in split {split!r}")
    data = VqaRadData(items, root)
    if read_images:
        for it in items:
            if it.image_name not in data.images:
                data.images[it.image_name] = read_image(root / IMAGES / it.image_name)
    return data


def read_predictions(path: str | os.PathLike[str]) -> dict[str, str]:
    """Predictions from JSON Lines: one ``{"qid": ..., "answer": "..."}`` per line (blank lines skipped).

    A malformed line or a repeated qid raises, naming the line.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"predictions file {path} not found")
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VqaRadFormatError(f"{path}:{n}: not a JSON object ({exc})") from exc
        if not isinstance(rec, dict) or "qid" not in rec or "answer" not in rec:
            raise VqaRadFormatError(f"{path}:{n}: each line needs the keys 'qid' and 'answer'")
        q = str(rec["qid"])
        if q in out:
            raise VqaRadFormatError(f"{path}:{n}: qid {q} appears twice")
        out[q] = "" if rec["answer"] is None else str(rec["answer"])
    return out


def score(items: Sequence[VqaRadItem], predictions: dict[str, str]) -> dict:
    """Closed, open and overall accuracy of free-text predictions, with the failures counted.

    Closed answers are parsed to yes/no (:func:`medrepro.text.answers.parse_yes_no`); an unparseable answer is
    wrong and counted by its reason. A closed question whose answer is not yes/no (VQA-RAD has a few, such as
    "left" to "Is it on the left or the right?") and open answers score by normalised exact match
    (:func:`medrepro.text.answers.normalise_answer`); ``open_recall`` also credits an answer that contains the
    reference's normalised words (the lenient rule of several LLM evaluations). A question without a
    prediction is wrong and counted in ``missing``. ``correct`` holds the per-question 0/1 in item order.
    """
    from ...text.answers import YES_NO_REASONS, count_reasons, normalise_answer, parse_yes_no

    correct, lenient, reasons, missing = [], [], [], 0
    for it in items:
        pred = predictions.get(it.qid)
        if pred is None:
            missing += 1
        if it.answer_type == "CLOSED" and normalise_answer(it.answer) in ("yes", "no"):
            ans, why = parse_yes_no(pred)
            reasons.append(why)
            ok = ans is not None and ans == normalise_answer(it.answer)
            correct.append(ok)
            lenient.append(ok)
        else:
            p, ref = normalise_answer(pred), normalise_answer(it.answer)
            correct.append(bool(ref) and p == ref)
            lenient.append(bool(ref) and f" {ref} " in f" {p} ")
    c = np.array(correct, bool)
    le = np.array(lenient, bool)
    closed = np.array([it.answer_type == "CLOSED" for it in items], bool)

    def acc(mask):
        return float(c[mask].mean()) if mask.any() else float("nan")

    return {"closed_accuracy": acc(closed), "open_accuracy": acc(~closed), "overall_accuracy": acc(np.ones_like(c)),
            "open_recall": float(le[~closed].mean()) if (~closed).any() else float("nan"),
            "n_closed": int(closed.sum()), "n_open": int((~closed).sum()), "missing": missing,
            "closed_parse": count_reasons(reasons, YES_NO_REASONS), "correct": c}


def baselines(train: Sequence[VqaRadItem], test: Sequence[VqaRadItem]) -> dict[str, dict[str, str]]:
    """Trivial predictions for ``test``: ``"yes"`` for every closed question (``always_yes``), and the most
    frequent training answer of the question's (answer type, question type) — falling back to the answer
    type's most frequent answer — (``majority_per_type``). Returns ``{name: {qid: answer}}``."""
    from ...text.answers import normalise_answer

    by_type: dict[tuple[str, str], Counter] = {}
    by_answer_type: dict[str, Counter] = {}
    for it in train:
        a = normalise_answer(it.answer)
        by_type.setdefault((it.answer_type, it.question_type), Counter())[a] += 1
        by_answer_type.setdefault(it.answer_type, Counter())[a] += 1
    major, yes = {}, {}
    for it in test:
        c = by_type.get((it.answer_type, it.question_type)) or by_answer_type.get(it.answer_type) or Counter({"": 1})
        major[it.qid] = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]   # ties: alphabetical, deterministic
        yes[it.qid] = "yes" if it.answer_type == "CLOSED" else ""
    return {"always_yes": yes, "majority_per_type": major}


def write_layout(root: str | os.PathLike[str], images: dict[str, np.ndarray], records: Sequence[dict]) -> Path:
    """Write ``records`` (dicts with the JSON fields) as the question JSON and ``images`` (name → ``(H, W)``
    float array in [0, 1]) as 8-bit JPEGs with Pillow, in the VQA-RAD layout under ``root``."""
    from PIL import Image

    root = Path(root)
    (root / IMAGES).mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        Image.fromarray(np.round(np.clip(img, 0, 1) * 255).astype(np.uint8), mode="L").save(
            root / IMAGES / name, format="JPEG", quality=95)
    missing = sorted({r["image_name"] for r in records} - set(images))
    if missing:
        raise ValueError(f"records name images that were not given: {missing[:5]}")
    (root / QUESTIONS).write_text(json.dumps(list(records), indent=1), encoding="utf-8")
    return root


def questions_from_cxr(labels: np.ndarray, side: np.ndarray, findings: Sequence[str], image_names: Sequence[str], *,
                       test: np.ndarray, seed: int = 0, per_image: int = 3) -> list[dict]:
    """VQA-RAD-style records about simulated chest films: closed presence questions ("Is there a pleural
    effusion?", ``PRES``) and, for a present lateralised finding, an open position question ("Which side is
    the pneumothorax on?", ``POS``). ``test`` marks the images whose questions form the test split."""
    rng = np.random.default_rng(seed)
    names = {"cardiomegaly": "cardiomegaly", "effusion": "a pleural effusion", "nodule": "a lung nodule",
             "consolidation": "consolidation", "pneumothorax": "a pneumothorax", "atelectasis": "atelectasis"}
    recs, qid = [], 0
    for i, img in enumerate(image_names):
        phrase = "test_freeform" if test[i] else "freeform"
        for k in rng.choice(len(findings), size=min(per_image, len(findings)), replace=False):
            f = findings[int(k)]
            qid += 1
            recs.append({"qid": qid, "phrase_type": phrase, "qid_linked_id": f"sim{qid:05d}", "image_name": img,
                         "image_organ": "CHEST", "question": f"Is there {names.get(f, f)}?",
                         "question_type": "PRES", "answer": "Yes" if labels[i, k] else "No", "answer_type": "CLOSED"})
        lateral = [k for k, f in enumerate(findings) if labels[i, k] and f not in ("cardiomegaly",)]
        if lateral:
            k = int(rng.choice(lateral))
            qid += 1
            recs.append({"qid": qid, "phrase_type": phrase, "qid_linked_id": f"sim{qid:05d}", "image_name": img,
                         "image_organ": "CHEST", "question": f"Which side is the {findings[k]} on?",
                         "question_type": "POS", "answer": "right" if side[i, k] < 0 else "left",
                         "answer_type": "OPEN"})
    return recs


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_images: int = 8) -> Path:
    """A miniature VQA-RAD: ``n_images`` simulated 64 × 64 chest films as JPEGs and questions about them."""
    from ...sim import cxr

    root = Path(root)
    spec = cxr.with_prevalence(cxr.CxrSpec(size=64), **{f: 0.4 for f in cxr.FINDINGS})
    batch = cxr.simulate_cxr(n_images, spec, seed=seed)
    names = [f"synpic{50000 + i}.jpg" for i in range(n_images)]
    test = np.arange(n_images) % 2 == 1
    recs = questions_from_cxr(batch.labels, batch.params.side, cxr.FINDINGS, names, test=test, seed=seed)
    write_layout(root, dict(zip(names, batch.images)), recs)
    mark_fixture(root, "vqa_rad")
    return root
