"""MIMIC-IV (PhysioNet, credentialed): the ``hosp`` module's real layout, a writer of it, and ``make_fixture``.

The real layout (MIMIC-IV v3.1, ``data_manifests/mimic-iv.yaml``), gzip-compressed CSV with a header row::

    hosp/patients.csv.gz          subject_id, gender, anchor_age, anchor_year, anchor_year_group, dod
    hosp/admissions.csv.gz        subject_id, hadm_id, admittime, dischtime, deathtime, admission_type, ...
    hosp/diagnoses_icd.csv.gz     subject_id, hadm_id, seq_num, icd_code, icd_version   (billed at discharge)
    hosp/procedures_icd.csv.gz    subject_id, hadm_id, seq_num, chartdate, icd_code, icd_version
    hosp/prescriptions.csv.gz     subject_id, hadm_id, pharmacy_id, ..., starttime, stoptime, drug_type, drug, ...
    hosp/d_icd_diagnoses.csv.gz   icd_code, icd_version, long_title
    hosp/d_icd_procedures.csv.gz  icd_code, icd_version, long_title

Column lists follow the MIMIC-IV documentation (https://mimic.mit.edu/docs/iv/modules/hosp/). Dates are
shifted per patient into the years 2100–2200 (consistent within a patient, not across patients); ages come
from ``anchor_age`` in ``anchor_year``. ICD-9 codes were billed until October 2015 and ICD-10 codes after,
so one clinical concept appears under two codes that never share an admission.

This module turns the tables into what a concept-embedding study needs:

- :func:`load_tables` reads the tables (only the needed columns; prescriptions in chunks) and validates them;
- :func:`code_events` makes one long table of timed medical codes (*tokens*: ``DX9:4280``, ``DX10:I509``,
  ``PX9:3995``, ``RX:Furosemide``) — diagnoses at their admission time, procedures at their chart date,
  prescriptions at their start time;
- :func:`hf_cohort` defines heart-failure (HF) onset cases (first admission billed with ICD-9 ``428*`` or
  ICD-10 ``I50*``) and controls (never billed with one; index = last admission), with an observation window
  that ends ``gap_days`` before the index; :func:`match_controls` keeps up to k controls per case of the
  same sex and similar age;
- :func:`window_counts` counts each patient's tokens inside the observation window (the bag of codes).

:func:`write_tables` writes the same layout (smoke runs write simulated tables from
:mod:`medrepro.sim.ehr` and read them back through :func:`load_tables`); :func:`make_fixture` writes a
miniature copy with simulated content for the tests.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..io import FormatError
from . import mark_fixture

HOSP = "hosp"
#: Table name → its columns in MIMIC-IV v3.1 (the writer writes them all, in this order).
COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": ("subject_id", "gender", "anchor_age", "anchor_year", "anchor_year_group", "dod"),
    "admissions": ("subject_id", "hadm_id", "admittime", "dischtime", "deathtime", "admission_type",
                   "admit_provider_id", "admission_location", "discharge_location", "insurance", "language",
                   "marital_status", "race", "edregtime", "edouttime", "hospital_expire_flag"),
    "diagnoses_icd": ("subject_id", "hadm_id", "seq_num", "icd_code", "icd_version"),
    "procedures_icd": ("subject_id", "hadm_id", "seq_num", "chartdate", "icd_code", "icd_version"),
    "prescriptions": ("subject_id", "hadm_id", "pharmacy_id", "poe_id", "poe_seq", "order_provider_id",
                      "starttime", "stoptime", "drug_type", "drug", "formulary_drug_cd", "gsn", "ndc",
                      "prod_strength", "form_rx", "dose_val_rx", "dose_unit_rx", "form_val_disp",
                      "form_unit_disp", "doses_per_24_hrs", "route"),
    "d_icd_diagnoses": ("icd_code", "icd_version", "long_title"),
    "d_icd_procedures": ("icd_code", "icd_version", "long_title"),
}
#: The columns the loader reads from each table (and requires).
NEEDED: dict[str, tuple[str, ...]] = {
    "patients": ("subject_id", "gender", "anchor_age", "anchor_year"),
    "admissions": ("subject_id", "hadm_id", "admittime"),
    "diagnoses_icd": ("subject_id", "hadm_id", "icd_code", "icd_version"),
    "procedures_icd": ("subject_id", "hadm_id", "chartdate", "icd_code", "icd_version"),
    "prescriptions": ("subject_id", "hadm_id", "starttime", "drug"),
    "d_icd_diagnoses": ("icd_code", "icd_version", "long_title"),
    "d_icd_procedures": ("icd_code", "icd_version", "long_title"),
}
#: Paths under the dataset root that full mode needs (the manifest's ``layout``).
LAYOUT = [f"{HOSP}/{name}.csv.gz" for name in COLUMNS]
#: Heart failure: ICD-9-CM 428.x and ICD-10-CM I50.x (codes are stored without the dot).
HF_PREFIXES: dict[int, tuple[str, ...]] = {9: ("428",), 10: ("I50",)}
_TIME = "ISO8601"  # "2180-05-06 22:23:00", with or without fractional seconds; dates "2180-05-07"
_DAY_NS = 86_400 * 10**9


class MimicFormatError(FormatError):
    """A MIMIC-IV table lacks a column, has unparseable values, or is not gzip CSV; the message names the file."""


# ---------------------------------------------------------------------------------------------- tokens
def dx_token(icd_version: int | str, icd_code: str) -> str:
    """Token of a billed diagnosis: ``DX9:4280`` (ICD-9) or ``DX10:I509`` (ICD-10)."""
    return f"DX{int(icd_version)}:{str(icd_code).strip()}"


def px_token(icd_version: int | str, icd_code: str) -> str:
    """Token of an ICD procedure: ``PX9:3995`` or ``PX10:5A1D70Z``."""
    return f"PX{int(icd_version)}:{str(icd_code).strip()}"


def rx_token(drug: str) -> str:
    """Token of a prescription: ``RX:`` + the ``drug`` string with surrounding and doubled spaces removed."""
    return "RX:" + " ".join(str(drug).split())


def is_hf_token(token: str) -> bool:
    """True for a diagnosis token of heart failure (ICD-9 428*, ICD-10 I50*)."""
    for version, prefixes in HF_PREFIXES.items():
        head = f"DX{version}:"
        if token.startswith(head) and token[len(head):].startswith(prefixes):
            return True
    return False


# ------------------------------------------------------------------------------------------------ read
def table_path(root: str | os.PathLike[str], name: str) -> Path:
    """``<root>/hosp/<name>.csv.gz``."""
    return Path(root) / HOSP / f"{name}.csv.gz"


def _read(root: Path, name: str, chunksize: int | None = None):
    import pandas as pd

    path = table_path(root, name)
    if not path.is_file():
        raise FileNotFoundError(f"MIMIC-IV table not found: {path} (expected the layout hosp/<table>.csv.gz)")
    need = NEEDED[name]
    try:
        with gzip.open(path, "rt") as fh:
            header = fh.readline().strip().split(",")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise MimicFormatError(f"{path}: not a readable gzip-compressed CSV ({exc})") from exc
    missing = [c for c in need if c not in header]
    if missing:
        raise MimicFormatError(f"{path}: missing column(s) {', '.join(missing)}; header is {header}")
    dtype = {c: "string" for c in ("icd_code", "drug", "gender", "long_title")}
    try:
        return pd.read_csv(path, usecols=list(need), dtype={k: v for k, v in dtype.items() if k in need},
                           chunksize=chunksize, compression="gzip")
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        raise MimicFormatError(f"{path}: could not be parsed ({exc})") from exc


def _times(values, path: Path, column: str, fmt: str = _TIME) -> np.ndarray:
    """Parse timestamps to float days since 1970 (NaN where missing); raise naming the file on bad values."""
    import pandas as pd

    try:
        ts = pd.to_datetime(values, format=fmt, errors="raise")
    except (ValueError, TypeError) as exc:
        raise MimicFormatError(f"{path}: column {column} has values that are not timestamps ({exc})") from exc
    out = ts.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64) / _DAY_NS
    out[pd.isna(ts)] = np.nan
    return out


def load_tables(root: str | os.PathLike[str], *, prescriptions: bool = True,
                chunksize: int = 2_000_000) -> dict[str, "pd.DataFrame"]:  # noqa: F821
    """Read the hosp tables a code-based study needs, with the needed columns only.

    Times become float days since 1970 (column ``t``); prescriptions are read in chunks and reduced to
    the first start time of each (admission, drug), which keeps full MIMIC-IV (~20 M prescription rows)
    within a few GB. Set ``prescriptions=False`` to skip them.

    Raises:
        FileNotFoundError: a table is missing (the message gives its path).
        MimicFormatError: a table lacks a needed column or has unparseable values.
    """
    import pandas as pd

    root = Path(root)
    out: dict[str, pd.DataFrame] = {}
    pat = _read(root, "patients")
    if pat["subject_id"].duplicated().any():
        raise MimicFormatError(f"{table_path(root, 'patients')}: subject_id is not unique")
    out["patients"] = pat
    adm = _read(root, "admissions")
    adm["t"] = _times(adm.pop("admittime"), table_path(root, "admissions"), "admittime")
    if adm["t"].isna().any():
        raise MimicFormatError(f"{table_path(root, 'admissions')}: admittime is missing in some rows")
    out["admissions"] = adm
    out["diagnoses_icd"] = _read(root, "diagnoses_icd").dropna(subset=["icd_code"])
    px = _read(root, "procedures_icd").dropna(subset=["icd_code"])
    px["t"] = _times(px.pop("chartdate"), table_path(root, "procedures_icd"), "chartdate")
    out["procedures_icd"] = px
    if prescriptions:
        parts = []
        path = table_path(root, "prescriptions")
        for chunk in _read(root, "prescriptions", chunksize=chunksize):
            chunk = chunk.dropna(subset=["drug", "hadm_id"])
            chunk["t"] = _times(chunk.pop("starttime"), path, "starttime")
            codes, uniq = pd.factorize(chunk["drug"])  # normalise whitespace once per distinct drug string
            chunk["drug"] = np.asarray([" ".join(str(u).split()) for u in uniq], dtype=object)[codes]
            parts.append(chunk.sort_values("t").drop_duplicates(["hadm_id", "drug"]))
        rx = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["subject_id", "hadm_id", "t", "drug"])
        out["prescriptions"] = rx.sort_values("t").drop_duplicates(["hadm_id", "drug"]).reset_index(drop=True)
    for name in ("d_icd_diagnoses", "d_icd_procedures"):
        out[name] = _read(root, name)
    return out


# -------------------------------------------------------------------------------------------- events
def code_events(tables: Mapping[str, "pd.DataFrame"], sources: Sequence[str] = ("dx", "px", "rx")  # noqa: F821
                ) -> "pd.DataFrame":  # noqa: F821
    """One row per timed code: ``subject_id``, ``hadm_id``, ``t`` (days), ``token``, ``source``; sorted.

    Diagnoses carry their admission's time (they are billed per admission, without a time of their own);
    procedures their chart date; prescriptions their start time (admission time when missing). A token
    appears at most once per admission.
    """
    import pandas as pd

    adm_t = tables["admissions"].set_index("hadm_id")["t"]
    parts = []
    if "dx" in sources:
        dx = tables["diagnoses_icd"]
        tok = "DX" + dx["icd_version"].astype(int).astype(str) + ":" + dx["icd_code"].astype(str).str.strip()
        parts.append(pd.DataFrame({"subject_id": dx["subject_id"].to_numpy(), "hadm_id": dx["hadm_id"].to_numpy(),
                                   "t": adm_t.reindex(dx["hadm_id"]).to_numpy(), "token": tok.to_numpy(),
                                   "source": "dx"}))
    if "px" in sources and len(tables.get("procedures_icd", ())):
        px = tables["procedures_icd"]
        tok = "PX" + px["icd_version"].astype(int).astype(str) + ":" + px["icd_code"].astype(str).str.strip()
        parts.append(pd.DataFrame({"subject_id": px["subject_id"].to_numpy(), "hadm_id": px["hadm_id"].to_numpy(),
                                   "t": px["t"].to_numpy(), "token": tok.to_numpy(), "source": "px"}))
    if "rx" in sources and "prescriptions" in tables and len(tables["prescriptions"]):
        rx = tables["prescriptions"]
        t = rx["t"].to_numpy(dtype=float).copy()
        miss = np.isnan(t)
        t[miss] = adm_t.reindex(rx["hadm_id"][miss]).to_numpy()
        parts.append(pd.DataFrame({"subject_id": rx["subject_id"].to_numpy(), "hadm_id": rx["hadm_id"].to_numpy(),
                                   "t": t, "token": ("RX:" + rx["drug"].astype(str)).to_numpy(), "source": "rx"}))
    ev = pd.concat(parts, ignore_index=True).dropna(subset=["t"])
    ev = ev.drop_duplicates(["hadm_id", "token"])
    ev["subject_id"] = ev["subject_id"].astype(np.int64)
    return ev.sort_values(["subject_id", "t", "token"], kind="stable").reset_index(drop=True)


def code_titles(tables: Mapping[str, "pd.DataFrame"]) -> dict[str, str]:  # noqa: F821
    """Token → human-readable title from ``d_icd_diagnoses`` / ``d_icd_procedures`` (drugs: their name)."""
    out: dict[str, str] = {}
    for name, kind in (("d_icd_diagnoses", "DX"), ("d_icd_procedures", "PX")):
        d = tables.get(name)
        if d is None:
            continue
        keys = kind + d["icd_version"].astype(int).astype(str) + ":" + d["icd_code"].astype(str).str.strip()
        out.update(zip(keys, d["long_title"].astype(str)))
    return out


# -------------------------------------------------------------------------------------------- cohort
def hf_cohort(tables: Mapping[str, "pd.DataFrame"], events: "pd.DataFrame", *,  # noqa: F821
              gap_days: float = 180.0, obs_days: float = 730.0, min_obs_admissions: int = 1,
              min_age: int = 18) -> "pd.DataFrame":  # noqa: F821
    """HF onset cases and controls, one row per patient, with their observation windows.

    Case: the index is the admission time of the first admission billed with an HF code (ICD-9 ``428*``,
    ICD-10 ``I50*``). Control: never billed with an HF code; the index is the last admission. The
    observation window is ``[index − gap_days − obs_days, index − gap_days)``; a patient needs at least
    ``min_obs_admissions`` admissions inside it and an age ≥ ``min_age`` at the index.

    Returns a frame with ``subject_id``, ``label`` (1 = HF onset), ``index_t``, ``obs_start``, ``obs_end``,
    ``age``, ``gender``, ``n_obs_admissions``.
    """
    import pandas as pd

    adm = tables["admissions"][["subject_id", "hadm_id", "t"]]
    hf_prefixes = tuple(f"DX{v}:{p}" for v, ps in HF_PREFIXES.items() for p in ps)   # see is_hf_token
    hf_hadm = events.loc[events["token"].str.startswith(hf_prefixes), "hadm_id"].unique()
    is_hf_adm = adm["hadm_id"].isin(hf_hadm)
    first_hf = adm[is_hf_adm].groupby("subject_id")["t"].min()
    last_adm = adm.groupby("subject_id")["t"].max()
    idx = last_adm.to_frame("index_t")
    idx["label"] = 0
    idx.loc[first_hf.index, "index_t"] = first_hf
    idx.loc[first_hf.index, "label"] = 1
    idx["obs_end"] = idx["index_t"] - gap_days
    idx["obs_start"] = idx["obs_end"] - obs_days
    a = adm.join(idx[["obs_start", "obs_end"]], on="subject_id")
    inside = (a["t"] >= a["obs_start"]) & (a["t"] < a["obs_end"])
    idx["n_obs_admissions"] = inside.groupby(a["subject_id"]).sum().reindex(idx.index).fillna(0).astype(int)
    pat = tables["patients"].set_index("subject_id")
    idx = idx.join(pat[["gender", "anchor_age", "anchor_year"]], how="inner")
    year = pd.to_datetime(idx["index_t"] * _DAY_NS).dt.year
    idx["age"] = idx["anchor_age"] + (year - idx["anchor_year"])
    keep = (idx["n_obs_admissions"] >= min_obs_admissions) & (idx["age"] >= min_age)
    cols = ["label", "index_t", "obs_start", "obs_end", "age", "gender", "n_obs_admissions"]
    return idx.loc[keep, cols].reset_index().sort_values("subject_id").reset_index(drop=True)


def match_controls(cohort: "pd.DataFrame", per_case: int | None = 4, age_band: int = 5,  # noqa: F821
                   seed: int = 0) -> "pd.DataFrame":  # noqa: F821
    """Frequency matching: in every (sex, ``age_band``-year age band) stratum keep all cases and at most
    ``per_case`` × cases controls, drawn at random; strata without cases lose their controls.

    ``per_case=None`` keeps the cohort as it is. Vectorised, so it scales to full MIMIC-IV.
    """
    if per_case is None:
        return cohort
    import pandas as pd

    rng = np.random.default_rng(seed)
    stratum = (cohort["gender"].astype(str) + "|" + (cohort["age"] // age_band).astype(int).astype(str)).to_numpy()
    codes = pd.factorize(stratum)[0]
    is_case = cohort["label"].to_numpy() == 1
    n_cases = np.bincount(codes[is_case], minlength=codes.max() + 1 if len(codes) else 0)
    shuffled = rng.permutation(len(cohort))
    controls = shuffled[~is_case[shuffled]]                     # the controls in a random order
    by_stratum = np.argsort(codes[controls], kind="stable")     # grouped by stratum, random within it
    sorted_codes = codes[controls][by_stratum]
    rank = np.arange(len(sorted_codes)) - np.searchsorted(sorted_codes, sorted_codes)
    keep = is_case.copy()
    keep[controls[by_stratum]] = rank < per_case * n_cases[sorted_codes]
    return cohort[keep].sort_values("subject_id").reset_index(drop=True)


def window_counts(events: "pd.DataFrame", cohort: "pd.DataFrame", vocab: Mapping[str, int]  # noqa: F821
                  ) -> "scipy.sparse.csr_matrix":  # noqa: F821
    """Counts of each vocabulary token inside each patient's observation window: (patients × |vocab|), CSR.

    Rows follow ``cohort`` order; tokens outside ``vocab`` are ignored. Each row is the sum of the one-hot
    vectors of the patient's codes in the window (a bag of codes).
    """
    from scipy import sparse

    row_of = {s: i for i, s in enumerate(cohort["subject_id"].to_numpy())}
    ev = events[events["subject_id"].isin(row_of.keys())]
    win = cohort.set_index("subject_id")[["obs_start", "obs_end"]].reindex(ev["subject_id"]).to_numpy()
    col = ev["token"].map(vocab)
    keep = (ev["t"].to_numpy() >= win[:, 0]) & (ev["t"].to_numpy() < win[:, 1]) & col.notna().to_numpy()
    rows = ev["subject_id"].map(row_of).to_numpy()[keep]
    cols = col.to_numpy()[keep].astype(np.int64)
    return sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(cohort), len(vocab)))


# ----------------------------------------------------------------------------------------------- write
def _csv_column(values) -> np.ndarray:
    """One column as CSV field strings: missing → empty; text with a comma, quote or newline → quoted."""
    import pandas as pd

    arr = np.asarray(values)
    if arr.dtype.kind in "iub":
        return arr.astype(str)
    if arr.dtype.kind == "f":
        missing = np.isnan(arr)
        whole = not missing.all() and bool(np.all(np.mod(arr[~missing], 1) == 0))
        out = (np.where(missing, 0, arr).astype(np.int64) if whole else arr).astype(str).astype(object)
        out[missing] = ""
        return out
    obj = np.asarray(arr, dtype=object)
    missing = pd.isna(obj)
    if missing.any():
        obj = obj.copy()
        obj[missing] = ""
    out = obj.astype(str).astype(object)
    if any(ch in "\x00".join(out.tolist()) for ch in ',"\n'):
        out = np.array([f'"{v.replace(chr(34), chr(34) * 2)}"' if any(ch in v for ch in ',"\n') else v
                        for v in out], dtype=object)
    return out


def write_tables(root: str | os.PathLike[str], tables: Mapping[str, "pd.DataFrame"]) -> Path:  # noqa: F821
    """Write ``tables`` (name → frame with the MIMIC-IV columns) as ``<root>/hosp/<name>.csv.gz``.

    Missing columns are written empty, in the documented order, so the files have the real header. Each
    file is written to a temporary name and renamed. Returns ``root``.
    """
    root = Path(root)
    (root / HOSP).mkdir(parents=True, exist_ok=True)
    for name, cols in COLUMNS.items():
        if name not in tables:
            raise ValueError(f"write_tables: no table {name!r} given (need {', '.join(COLUMNS)})")
        df = tables[name]
        n = len(df)
        # a hand-rolled writer (~10x faster than DataFrame.to_csv): constant columns go into a line template
        template, variable = [], []
        for c in cols:
            field = _csv_column(df[c]) if c in df.columns else np.array([""], dtype=object)
            if n and (len(field) == 1 or (field[0] == field).all()):
                template.append(str(field[0]).replace("{", "{{").replace("}", "}}"))
            else:
                template.append("{}")
                variable.append(field)
        line = ",".join(template)
        body = "\n".join(map(line.format, *variable)) if variable else "\n".join([line] * n)
        path = table_path(root, name)
        tmp = path.with_name(path.name + ".part")
        # compresslevel 1: smoke data is written and read once; size does not matter, time does
        with gzip.open(tmp, "wt", compresslevel=1, newline="") as fh:
            fh.write(",".join(cols) + "\n")
            if n:
                fh.write(body + "\n")
        os.replace(tmp, path)
    return root


def make_fixture(root: str | os.PathLike[str], seed: int = 0, n_patients: int = 400) -> Path:
    """Write a miniature MIMIC-IV hosp layout with simulated patients (:mod:`medrepro.sim.ehr`) under ``root``."""
    from ...sim.ehr import simulate_ehr

    cohort = simulate_ehr(n_patients, seed=seed)
    write_tables(root, cohort.tables)
    mark_fixture(root, "mimic-iv")
    return Path(root)
