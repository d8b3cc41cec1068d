"""Simulated hospital EHR cohorts (admissions with billed diagnoses, procedures and prescriptions), MIMIC-IV shaped.

Each patient carries latent chronic diseases that begin at random times; every admission bills codes for the
diseases active at that time. Five of them — hypertension (HTN), diabetes (DM), chronic kidney disease (CKD),
atrial fibrillation (AF) and coronary artery disease (CAD) — raise the risk of heart-failure (HF) onset; six
others (COPD, depression, hypothyroidism, reflux, hyperlipidaemia, osteoarthritis) do not. A case's first
HF admission (billed with ICD-9 ``428*`` / ICD-10 ``I50*``) is its index; a control's index is its last
admission. The tables come out with the MIMIC-IV ``hosp`` columns, ready for
:func:`medrepro.data.datasets.mimic_iv.write_tables`; everything is vectorised over admissions and codes.

Realistic:
    - one clinical concept is billed under several codes ("synonyms"): ICD-9 and ICD-10 codes of the same
      condition (admissions switch from ICD-9 to ICD-10 on a per-patient calendar date, as MIMIC-IV does in
      October 2015, so the two never share an admission) and several drug-name strings for one drug class;
      within a concept a few codes are common and the rest rare (Zipf weights);
    - a long tail of rare noise codes (format-valid code strings with no meaning in the simulator) and
      frequent, uninformative inpatient drugs (heparin, saline flush, ...) in most admissions;
    - comorbidity structure: HTN and DM raise the chance of CKD and CAD, HTN raises AF; a shared frailty
      raises every disease, the admission rate and HF risk; age raises everything;
    - HF risk is a logistic function of the risk diseases active at the index, age and an unobserved
      patient effect, so even the latent disease state does not predict HF perfectly (the "oracle" logit);
    - incomplete coding: an active disease is billed in an admission only with some probability per concept,
      scaled by a per-patient coding intensity; weak prodromal codes (dyspnoea, oedema, cardiomegaly, loop
      diuretics) appear in the year before HF onset and, less often, in anyone (e.g. with COPD).
Not modelled:
    - the statistics of any real hospital (prevalences, code frequencies, admission patterns are knobs);
      laboratory values, notes, ICU data, outpatient visits, deaths, transfers, drug doses;
    - real coding rules (the order of ``seq_num`` is random apart from HF first at the HF admission);
      the titles written to ``d_icd_*`` are the simulator's concept names, not official ICD titles.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from ..data.datasets.mimic_iv import COLUMNS, dx_token, px_token, rx_token

#: Diseases that raise the risk of heart-failure onset, in simulation order.
RISK_DISEASES: tuple[str, ...] = ("HTN", "DM", "CKD", "AF", "CAD")
#: Chronic diseases unrelated to heart failure.
OTHER_DISEASES: tuple[str, ...] = ("COPD", "DEPR", "THYR", "GERD", "HLD", "OA")
CHRONIC: tuple[str, ...] = RISK_DISEASES + OTHER_DISEASES
#: Every concept group (the colour of a code in the figures): chronic diseases, HF itself, prodrome, acute
#: reasons for admission, general inpatient drugs, and the tail of noise codes.
GROUPS: tuple[str, ...] = CHRONIC + ("HF", "PRODROME", "ACUTE", "GENERAL", "TAIL")
GROUP_NAMES: dict[str, str] = {
    "HTN": "hypertension", "DM": "diabetes", "CKD": "chronic kidney disease", "AF": "atrial fibrillation",
    "CAD": "coronary artery disease", "COPD": "COPD", "DEPR": "depression", "THYR": "hypothyroidism",
    "GERD": "reflux disease", "HLD": "hyperlipidaemia", "OA": "osteoarthritis", "HF": "heart failure",
    "PRODROME": "HF prodrome signs", "ACUTE": "acute reason for admission", "GENERAL": "general inpatient drug",
    "TAIL": "rare noise code",
}

#: (group, concept, kind, billing rate per admission while active, codes). Diagnosis and procedure codes are
#: written ``"<ICD version>:<code>"`` (real ICD-9-CM / ICD-10-CM / ICD-10-PCS codes of the concept, the most
#: used first); drugs are ``drug`` strings as they appear in prescriptions. Rates are per admission.
CONCEPTS: tuple[tuple[str, str, str, float, tuple[str, ...]], ...] = (
    # hypertension
    ("HTN", "essential hypertension", "dx", 0.55, ("9:4019", "9:4011", "9:4010", "10:I10")),
    ("HTN", "hypertensive heart disease / crisis", "dx", 0.12, ("9:40290", "9:40210", "9:40200", "10:I119", "10:I160", "10:I169")),
    ("HTN", "ACE inhibitor", "rx", 0.30, ("Lisinopril", "Lisinopril 10 mg Tab", "Lisinopril 20 mg Tab", "Lisinopril 5 mg Tab",
                                          "Lisinopril 40 mg Tab", "Lisinopril 2.5 mg Tab", "Enalapril Maleate", "Captopril",
                                          "Benazepril", "Ramipril")),
    ("HTN", "calcium channel blocker", "rx", 0.25, ("Amlodipine", "Amlodipine Besylate 5 mg Tab", "Amlodipine Besylate 10 mg Tab",
                                                    "Amlodipine Besylate 2.5 mg Tab", "NIFEdipine CR", "NIFEdipine (Extended Release)",
                                                    "Felodipine")),
    ("HTN", "thiazide", "rx", 0.15, ("Hydrochlorothiazide", "HCTZ 25 mg Tab", "HCTZ 12.5 mg Cap", "Chlorthalidone", "Indapamide")),
    ("HTN", "angiotensin receptor blocker", "rx", 0.20, ("Losartan Potassium", "Losartan 50 mg Tab", "Losartan 25 mg Tab",
                                                         "Valsartan", "Irbesartan", "Olmesartan")),
    ("HTN", "other antihypertensive", "rx", 0.10, ("HydrALAZINE", "CloNIDine", "CloniDINE Patch 0.1 mg/24 hr")),
    # diabetes
    ("DM", "type 2 diabetes", "dx", 0.55, ("9:25000", "9:25002", "9:25080", "9:25090", "9:25092",
                                           "10:E119", "10:E1165", "10:E1169", "10:E118")),
    ("DM", "diabetes with complication", "dx", 0.20, ("9:25040", "9:25060", "9:25042", "9:25050", "9:25062", "9:25070",
                                                      "9:3572", "9:36201", "10:E1122", "10:E1140", "10:E1121", "10:E1129",
                                                      "10:E1142", "10:E1151", "10:E11319", "10:E1136")),
    ("DM", "long-term insulin use", "dx", 0.20, ("9:V5867", "10:Z794")),
    ("DM", "metformin", "rx", 0.30, ("MetFORMIN (Glucophage)", "Metformin 500 mg Tab", "Metformin 1000 mg Tab",
                                     "Metformin 850 mg Tab", "Metformin XR (Glucophage XR)")),
    ("DM", "insulin", "rx", 0.35, ("Insulin", "Insulin Glargine", "Insulin Lispro", "Humalog", "Insulin Aspart", "Lantus",
                                   "Insulin Regular Human", "NPH Insulin", "Glargine 100 units/mL")),
    ("DM", "oral hypoglycaemic", "rx", 0.12, ("GlipiZIDE", "GlyBURIDE", "Glimepiride", "Sitagliptin", "Pioglitazone")),
    # chronic kidney disease
    ("CKD", "chronic kidney disease", "dx", 0.55, ("9:5859", "9:5853", "9:5854", "9:5852", "9:5855", "9:5856",
                                                   "10:N189", "10:N183", "10:N184", "10:N182", "10:N185", "10:N186", "10:N1830")),
    ("CKD", "hypertensive CKD", "dx", 0.20, ("9:40390", "9:40391", "9:40310", "10:I129", "10:I120")),
    ("CKD", "anaemia in CKD", "dx", 0.12, ("9:28521", "10:D631")),
    ("CKD", "secondary hyperparathyroidism", "dx", 0.08, ("9:58881", "10:N2581")),
    ("CKD", "phosphate binder", "rx", 0.20, ("Sevelamer CARBONATE", "Sevelamer HCl", "Sevelamer 800 mg Tab", "Calcium Acetate",
                                             "Calcium Acetate 667 mg Cap", "Lanthanum")),
    ("CKD", "active vitamin D", "rx", 0.15, ("Calcitriol", "Calcitriol 0.25 mcg Cap", "Paricalcitol", "Doxercalciferol")),
    ("CKD", "erythropoiesis stimulant", "rx", 0.08, ("Epoetin Alfa", "Darbepoetin Alfa")),
    ("CKD", "haemodialysis", "px", 0.06, ("9:3995", "10:5A1D70Z", "10:5A1D90Z")),
    # atrial fibrillation
    ("AF", "atrial fibrillation", "dx", 0.60, ("9:42731", "10:I4891", "10:I480", "10:I482", "10:I481", "10:I4811",
                                               "10:I4819", "10:I4820")),
    ("AF", "atrial flutter", "dx", 0.08, ("9:42732", "10:I4892", "10:I484", "10:I483")),
    ("AF", "long-term anticoagulation", "dx", 0.25, ("9:V5861", "10:Z7901")),
    ("AF", "warfarin", "rx", 0.30, ("Warfarin", "Warfarin 5 mg Tab", "Warfarin 2 mg Tab", "Warfarin 1 mg Tab", "Coumadin",
                                    "Jantoven")),
    ("AF", "direct oral anticoagulant", "rx", 0.15, ("Apixaban", "Apixaban 5 mg Tab", "Rivaroxaban", "Dabigatran Etexilate")),
    ("AF", "rate or rhythm control", "rx", 0.25, ("Diltiazem", "Diltiazem Extended-Release", "Diltiazem 30 mg Tab", "Digoxin",
                                                  "Amiodarone", "Amiodarone HCl 200 mg Tab", "Sotalol")),
    ("AF", "cardioversion", "px", 0.04, ("9:9961", "9:9962", "10:5A2204Z")),
    # coronary artery disease
    ("CAD", "coronary atherosclerosis", "dx", 0.55, ("9:41401", "9:41400", "9:41402", "9:41404", "9:41405",
                                                     "10:I2510", "10:I25110", "10:I25119", "10:I2583", "10:I2584")),
    ("CAD", "old myocardial infarction", "dx", 0.15, ("9:412", "10:I252")),
    ("CAD", "angina", "dx", 0.08, ("9:4139", "9:4111", "9:4131", "10:I209", "10:I208", "10:I200")),
    ("CAD", "history of coronary stent / bypass", "dx", 0.15, ("9:V4582", "9:V4581", "10:Z955", "10:Z951")),
    ("CAD", "statin", "rx", 0.40, ("Atorvastatin", "Atorvastatin 40 mg Tab", "Atorvastatin 80 mg Tab", "Atorvastatin 10 mg Tab",
                                   "Simvastatin", "Simvastatin 20 mg Tab", "Rosuvastatin Calcium", "Pravastatin")),
    ("CAD", "antiplatelet", "rx", 0.35, ("Aspirin", "Aspirin EC", "Aspirin 81 mg Chew Tab", "Clopidogrel", "Plavix",
                                         "Ticagrelor", "Prasugrel")),
    ("CAD", "nitrate", "rx", 0.12, ("Nitroglycerin SL", "Nitroglycerin Patch", "Isosorbide Mononitrate (Extended Release)",
                                    "Isosorbide Dinitrate")),
    ("CAD", "coronary stent", "px", 0.05, ("9:3606", "9:0066", "9:0045", "10:027034Z", "10:02703DZ", "10:027134Z")),
    # chronic diseases unrelated to heart failure in the simulator
    ("COPD", "COPD", "dx", 0.55, ("9:496", "9:49120", "9:4912", "9:49121", "9:4928", "10:J449", "10:J441", "10:J440", "10:J439")),
    ("COPD", "inhaled bronchodilator / steroid", "rx", 0.45, ("Albuterol Inhaler", "Ipratropium-Albuterol Neb", "Tiotropium Bromide",
                                                              "Albuterol 0.083% Neb Soln", "Ipratropium Bromide Neb",
                                                              "Fluticasone-Salmeterol Diskus (250/50)", "Budesonide-Formoterol")),
    ("DEPR", "depression", "dx", 0.50, ("9:311", "9:29620", "9:29630", "9:29632", "9:3004",
                                        "10:F329", "10:F339", "10:F321", "10:F331", "10:F341")),
    ("DEPR", "antidepressant", "rx", 0.40, ("Sertraline", "Citalopram", "Escitalopram Oxalate", "FLUoxetine", "PARoxetine",
                                            "BuPROPion", "Mirtazapine", "TraZODone")),
    ("THYR", "hypothyroidism", "dx", 0.55, ("9:2449", "9:2448", "9:2441", "10:E039", "10:E038", "10:E890")),
    ("THYR", "levothyroxine", "rx", 0.50, ("Levothyroxine Sodium", "Levothyroxine 50 mcg Tab", "Levothyroxine 25 mcg Tab",
                                           "Levothyroxine 100 mcg Tab", "Synthroid")),
    ("GERD", "reflux disease", "dx", 0.50, ("9:53081", "9:53011", "10:K219", "10:K210")),
    ("GERD", "acid suppression", "rx", 0.40, ("Omeprazole", "Pantoprazole", "Pantoprazole 40 mg Tab", "Omeprazole 20 mg Cap",
                                              "Famotidine", "Lansoprazole", "Esomeprazole")),
    ("HLD", "hyperlipidaemia", "dx", 0.55, ("9:2724", "9:2720", "9:2722", "10:E785", "10:E780", "10:E782", "10:E7849")),
    ("HLD", "non-statin lipid drug", "rx", 0.15, ("Ezetimibe", "Fenofibrate", "Gemfibrozil")),
    ("OA", "osteoarthritis / back pain", "dx", 0.45, ("9:71590", "9:71536", "9:71596", "9:7213",
                                                      "10:M199", "10:M170", "10:M1990", "10:M179", "10:M1611", "10:M47816")),
    ("OA", "analgesic", "rx", 0.35, ("TraMADol", "OxyCODONE (Immediate Release)", "Meloxicam", "Diclofenac Sodium 1% Gel",
                                     "Celecoxib", "Lidocaine 5% Patch")),
    # heart failure (billed from the HF admission on) and its prodrome
    ("HF", "heart failure", "dx", 0.85, ("9:4280", "9:42832", "9:42822", "9:42833", "9:42823", "9:4289", "9:42830", "9:42840",
                                         "10:I509", "10:I5032", "10:I5022", "10:I5033", "10:I5023", "10:I5030", "10:I5020",
                                         "10:I5042", "10:I5043")),
    ("HF", "loop diuretic", "rx", 0.70, ("Furosemide", "Furosemide 40 mg Tab", "Lasix", "Torsemide", "Furosemide 20 mg Tab",
                                         "Bumetanide")),
    ("HF", "HF beta blocker", "rx", 0.45, ("Carvedilol", "Metoprolol Succinate XL", "Carvedilol 6.25 mg Tab")),
    ("HF", "mineralocorticoid antagonist / ARNI", "rx", 0.30, ("Spironolactone", "Eplerenone", "Sacubitril-Valsartan")),
    ("PRODROME", "dyspnoea", "dx", 1.00, ("9:78605", "9:78609", "10:R0602", "10:R0600", "10:R0609")),
    ("PRODROME", "oedema", "dx", 0.70, ("9:7823", "10:R609", "10:R600")),
    ("PRODROME", "cardiomegaly / effusion", "dx", 0.40, ("9:4293", "9:5119", "10:I517", "10:J90")),
    # acute reasons for admission and general inpatient drugs: uninformative about HF
    ("ACUTE", "pneumonia", "dx", 1.0, ("9:486", "10:J189")),
    ("ACUTE", "urinary tract infection", "dx", 1.0, ("9:5990", "10:N390")),
    ("ACUTE", "sepsis", "dx", 1.0, ("9:0389", "10:A419")),
    ("ACUTE", "acute kidney injury", "dx", 1.0, ("9:5849", "10:N179")),
    ("ACUTE", "hyponatraemia", "dx", 1.0, ("9:2761", "10:E871")),
    ("ACUTE", "fall / fracture of hip", "dx", 1.0, ("9:82000", "10:S72001A")),
    ("ACUTE", "GI haemorrhage", "dx", 1.0, ("9:5789", "10:K922")),
    ("ACUTE", "antibiotic", "rx", 0.35, ("Vancomycin", "CefTRIAXone", "Piperacillin-Tazobactam")),
    ("GENERAL", "heparin", "rx", 0.60, ("Heparin",)),
    ("GENERAL", "saline flush", "rx", 0.60, ("Sodium Chloride 0.9%  Flush",)),
    ("GENERAL", "acetaminophen", "rx", 0.50, ("Acetaminophen",)),
    ("GENERAL", "docusate", "rx", 0.35, ("Docusate Sodium",)),
    ("GENERAL", "senna", "rx", 0.30, ("Senna",)),
)


#: Log-odds of having each chronic disease at day 0 (age 60, mean frailty, no parent disease); the same value
#: drives the incidence afterwards. Risk and non-risk diseases are about equally common on purpose, so that
#: the sheer number of billed codes says little about which diseases a patient has.
PREVALENCE_LOGIT: dict[str, float] = {"HTN": -1.0, "DM": -1.4, "CKD": -2.0, "AF": -1.9, "CAD": -1.7,
                                      "COPD": -1.1, "DEPR": -1.0, "THYR": -1.2, "GERD": -0.9, "HLD": -0.8,
                                      "OA": -0.9}
#: Comorbidity: disease → {parent: log-odds added when the parent began before half the index day}.
COMORBIDITY: dict[str, dict[str, float]] = {"CKD": {"HTN": 0.8, "DM": 0.9}, "CAD": {"HTN": 0.6, "DM": 0.6, "HLD": 0.5},
                                            "AF": {"HTN": 0.5}, "DEPR": {"OA": 0.5}, "GERD": {"COPD": 0.4}}


@dataclass(frozen=True)
class EhrSimConfig:
    """Knobs of the EHR simulator (defaults: the setting the ehr-concept-hf notebook is calibrated on).

    Attributes:
        index_days: range of the index day (days since the first possible admission).
        admission_rate: admissions per year before the index for a patient without disease (× burden).
        burden_effect: log-rate increase of admissions per active chronic disease.
        coding_sd: s.d. of the per-patient log coding intensity (how completely diseases get billed).
        synonym_zipf: Zipf exponent of the code weights within a concept (higher: rarer synonyms).
        n_tail: number of rare noise codes; tail_per_admission: mean noise codes per admission.
        hf_base: intercept of the HF onset logit; hf_effects: log-odds per active risk disease
            (order of ``RISK_DISEASES``); hf_unobserved_sd: s.d. of the unobserved patient effect;
            hf_age, hf_frailty: log-odds per decade of age and per s.d. of frailty.
        prodrome_days, prodrome_rate: length and peak billing rate of the HF prodrome before the index;
            prodrome_background: rate of prodrome codes in any admission (COPD: × 4).
        acute_rate: probability that an admission bills an acute reason.
        icd10_from: calendar year (fraction) from which admissions bill ICD-10 (MIMIC-IV: October 2015).
        disease_age, disease_frailty: log-odds of every chronic disease per decade of age and per s.d. of
            frailty (they make diseases co-occur); comorbidity_scale: multiplies ``COMORBIDITY``.
    """

    index_days: tuple[float, float] = (900.0, 3000.0)
    admission_rate: float = 0.35
    burden_effect: float = 0.1
    coding_sd: float = 0.35
    synonym_zipf: float = 0.7
    n_tail: int = 400
    tail_per_admission: float = 2.0
    hf_base: float = -4.0
    hf_effects: tuple[float, ...] = (1.3, 1.4, 1.5, 1.6, 1.7)
    hf_unobserved_sd: float = 0.5
    hf_age: float = 0.2
    hf_frailty: float = 0.1
    prodrome_days: float = 365.0
    prodrome_rate: float = 0.5
    prodrome_background: float = 0.03
    acute_rate: float = 0.7
    icd10_from: float = 2015.75
    disease_age: float = 0.2
    disease_frailty: float = 0.2
    comorbidity_scale: float = 0.5


@dataclass
class EhrCohort:
    """A simulated cohort: MIMIC-IV-shaped tables plus the ground truth the tables hide.

    Attributes:
        tables: table name → DataFrame with the MIMIC-IV ``hosp`` columns (see ``mimic_iv.COLUMNS``).
        truth: one row per patient: ``subject_id``, ``hf`` (1 = HF onset at the index), ``index_day``,
            ``oracle_logit`` (HF logit from the latent state, without the unobserved effect), ``age0``,
            ``frailty`` and one 0/1 column per risk disease (active at the index).
        vocabulary: one row per token the simulator can bill: ``token``, ``group``, ``concept``, ``kind``.
    """

    tables: dict
    truth: "pd.DataFrame"  # noqa: F821
    vocabulary: "pd.DataFrame"  # noqa: F821
    config: EhrSimConfig = field(default_factory=EhrSimConfig)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _tail_codes(n: int, taken: set[str], seed: int = 12345) -> list[tuple[int, str]]:
    """``n`` format-valid ICD-9 / ICD-10 code strings (half each), none heart failure, none in ``taken``.

    They stand for the long tail of rare codes; the simulator gives them no clinical meaning.
    """
    rng = np.random.default_rng(seed)
    out: list[tuple[int, str]] = []
    seen = set(taken)
    letters = np.array(list("ABCDGHJKLMNOQRSTZ"))
    while len(out) < n:
        if len(out) % 2 == 0:
            code = str(rng.integers(100, 1000)) + "".join(map(str, rng.integers(0, 10, rng.integers(0, 3))))
            ver = 9
            if code.startswith(("428", "40", "25", "585", "427", "41")):
                continue
        else:
            code = str(rng.choice(letters)) + f"{rng.integers(0, 100):02d}" + "".join(
                map(str, rng.integers(0, 10, rng.integers(0, 3))))
            ver = 10
        key = f"{ver}:{code}"
        if key not in seen:
            seen.add(key)
            out.append((ver, code))
    return out


def vocabulary(config: EhrSimConfig = EhrSimConfig()) -> "pd.DataFrame":  # noqa: F821
    """Every token the simulator can bill, with its group (disease), concept, kind, ICD version and weight.

    ``weight`` is the code's probability within its concept and ICD era (drugs: both eras); tail codes
    share one concept each and carry their Zipf frequency.
    """
    import pandas as pd

    rows = []
    for ci, (group, concept, kind, _rate, codes) in enumerate(CONCEPTS):
        parsed = []
        for code in codes:
            if kind == "rx":
                parsed.append((0, code, rx_token(code)))
            else:
                ver, c = code.split(":")
                parsed.append((int(ver), c, (dx_token if kind == "dx" else px_token)(ver, c)))
        for ver in sorted({p[0] for p in parsed}):
            same = [p for p in parsed if p[0] == ver]
            w = 1.0 / np.arange(1, len(same) + 1) ** config.synonym_zipf
            for (v, c, tok), wk in zip(same, w / w.sum()):
                rows.append((tok, group, concept, kind, v, c, float(wk), ci))
    taken = {f"{r[4]}:{r[5]}" for r in rows if r[3] == "dx"}
    tail = _tail_codes(config.n_tail, taken)
    zipf = 1.0 / (np.arange(len(tail)) + 5.0) ** 1.1
    for k, ((ver, code), wk) in enumerate(zip(tail, zipf)):
        rows.append((dx_token(ver, code), "TAIL", f"noise code {k}", "dx", ver, code, float(wk), -1))
    return pd.DataFrame(rows, columns=["token", "group", "concept", "kind", "version", "code", "weight", "concept_id"])


def simulate_ehr(n_patients: int, *, seed: int = 0, config: EhrSimConfig | None = None, **overrides) -> EhrCohort:
    """Simulate ``n_patients`` patients' admissions and billed codes, vectorised over admissions and codes.

    Args:
        n_patients: number of patients (each has at least two admissions: one before and one at the index).
        seed: seeds everything (the vocabulary of tail codes is fixed and does not depend on it).
        config: the knobs (:class:`EhrSimConfig`); ``overrides`` replace single fields of it.

    Returns:
        An :class:`EhrCohort` whose ``tables`` have the MIMIC-IV hosp columns.
    """
    import pandas as pd

    cfg = replace(config or EhrSimConfig(), **overrides)
    rng = np.random.default_rng(seed)
    n = int(n_patients)
    if n < 1:
        raise ValueError(f"n_patients must be ≥ 1, got {n_patients}")
    vocab = vocabulary(cfg)

    # ---- patients: age, sex, frailty, index day, calendar start (for the ICD-9 → ICD-10 switch)
    age0 = rng.uniform(40.0, 85.0, n)
    female = rng.random(n) < 0.48
    frail = rng.normal(0.0, 1.0, n)
    index_day = rng.uniform(*cfg.index_days, n)
    start_year = rng.uniform(2008.0, 2017.0, n)
    switch_day = (cfg.icd10_from - start_year) * 365.25

    # ---- chronic disease onsets (days; negative = present before day 0; inf = never)
    d_idx = {d: i for i, d in enumerate(CHRONIC)}
    prev_base = PREVALENCE_LOGIT
    parents = COMORBIDITY
    order = ("HTN", "DM", "HLD", "CKD", "CAD", "AF", "COPD", "DEPR", "THYR", "GERD", "OA")
    onset = np.full((n, len(CHRONIC)), np.inf)
    for d in order:
        lp = prev_base[d] + cfg.disease_age * (age0 - 60.0) / 10.0 + cfg.disease_frailty * frail
        for p, eff in parents.get(d, {}).items():
            lp = lp + cfg.comorbidity_scale * eff * (onset[:, d_idx[p]] < index_day / 2)
        prevalent = rng.random(n) < _sigmoid(lp)
        # incidence: exponential time to onset, rate exp(lp + 1) per 12 years (proportional hazards)
        incident = rng.exponential(365.25 * 12.0 / np.exp(lp + 1.0), n)
        onset[:, d_idx[d]] = np.where(prevalent, -rng.uniform(0.0, 3650.0, n), incident)
    active_at_index = onset < index_day[:, None]

    # ---- heart-failure onset at the index (logistic in the risk diseases active at the index)
    risk = active_at_index[:, [d_idx[d] for d in RISK_DISEASES]].astype(float)
    oracle = cfg.hf_base + risk @ np.asarray(cfg.hf_effects) + cfg.hf_age * (age0 - 65.0) / 10.0 + cfg.hf_frailty * frail
    hf = rng.random(n) < _sigmoid(oracle + rng.normal(0.0, cfg.hf_unobserved_sd, n))

    # ---- admissions: before the index (≥ 1), the index admission, and (cases) a few after it
    burden = active_at_index.sum(1)
    mu = cfg.admission_rate * index_day / 365.25 * np.exp(cfg.burden_effect * (burden - 2) + 0.25 * frail)
    n_pre = 1 + rng.poisson(mu)
    n_post = np.where(hf, rng.integers(0, 4, n), 0)
    n_adm = n_pre + 1 + n_post
    subj = np.repeat(np.arange(n), n_adm)
    pos = np.arange(len(subj)) - np.repeat(np.cumsum(n_adm) - n_adm, n_adm)  # position within the patient
    pre = pos < n_pre[subj]
    at_index = pos == n_pre[subj]
    t = np.where(pre, rng.uniform(0.0, 1.0, len(subj)) * index_day[subj],
                 np.where(at_index, index_day[subj], index_day[subj] + rng.uniform(20.0, 720.0, len(subj))))
    t = np.round(t, 3)
    order_ = np.lexsort((t, subj))
    subj, t, pre, at_index = subj[order_], t[order_], pre[order_], at_index[order_]
    A = len(subj)
    era10 = t >= switch_day[subj]
    after = t > index_day[subj]
    case = hf[subj]
    kappa = np.exp(rng.normal(0.0, cfg.coding_sd, n))[subj]  # per-patient coding intensity

    # ---- which concepts each admission bills (A × concepts, Bernoulli)
    groups = np.array([c[0] for c in CONCEPTS])
    rates = np.array([c[3] for c in CONCEPTS])
    active = onset[subj][:, [d_idx.get(g, 0) for g in groups]] <= t[:, None]  # chronic group active at t
    chronic = np.isin(groups, CHRONIC)
    p = np.where(chronic[None, :], active * rates[None, :] * kappa[:, None], 0.0)
    # heart failure: billed at the HF admission (the diagnosis surely) and at later admissions
    is_hf = groups == "HF"
    hf_adm = case & (at_index | after)
    p[:, is_hf] = np.where(hf_adm[:, None], rates[is_hf][None, :], 0.0)
    # prodrome: ramps up over prodrome_days before a case's index; a small background rate (COPD: × 4)
    lead = index_day[subj] - t
    ramp = np.clip(1.0 - lead / cfg.prodrome_days, 0.0, 1.0) * (case & ~at_index & ~after)
    copd = onset[subj, d_idx["COPD"]] <= t
    is_pro = groups == "PRODROME"
    p[:, is_pro] = rates[is_pro][None, :] * (cfg.prodrome_rate * ramp + cfg.prodrome_background * (1 + 3 * copd))[:, None]
    # general inpatient drugs: uninformative, in most admissions
    is_gen = groups == "GENERAL"
    p[:, is_gen] = rates[is_gen][None, :]
    bill = rng.random(p.shape) < np.clip(p, 0.0, 0.97)
    bill[np.flatnonzero(hf_adm & at_index), np.flatnonzero(is_hf)[0]] = True  # the index is billed with HF
    # one acute reason for a share of admissions; an antibiotic often comes with an infection
    acute_dx = np.flatnonzero((groups == "ACUTE") & (np.array([c[2] for c in CONCEPTS]) == "dx"))
    has_acute = rng.random(A) < cfg.acute_rate
    bill[np.flatnonzero(has_acute), rng.choice(acute_dx, size=int(has_acute.sum()))] = True
    abx = np.flatnonzero((groups == "ACUTE") & (np.array([c[2] for c in CONCEPTS]) == "rx"))[0]
    bill[:, abx] |= has_acute & (rng.random(A) < rates[abx] * 2)

    # ---- which code of each billed concept (synonyms: Zipf weights within the concept and ICD era)
    a_idx, c_idx = np.nonzero(bill)
    sig = vocab[vocab["concept_id"] >= 0]
    kmax = int(sig.groupby(["concept_id", "version"]).size().max())
    n_c = len(CONCEPTS)
    cum = np.ones((n_c, 2, kmax))  # [concept, era (0: ICD-9, 1: ICD-10), k] cumulative weights
    tok_tab = np.empty((n_c, 2, kmax), dtype=object)
    for (ci, ver), g in sig.groupby(["concept_id", "version"]):
        eras = (0, 1) if ver == 0 else ((0,) if ver == 9 else (1,))
        for e in eras:
            cum[ci, e, :len(g)] = np.cumsum(g["weight"].to_numpy())
            tok_tab[ci, e, :len(g)] = g["token"].to_numpy()
            tok_tab[ci, e, len(g):] = g["token"].to_numpy()[-1]
    e_idx = era10[a_idx].astype(int)
    u = rng.random(len(a_idx))
    k = (u[:, None] > cum[c_idx, e_idx]).sum(1).clip(0, kmax - 1)
    tokens = tok_tab[c_idx, e_idx, k]
    kinds = np.array([CONCEPTS[i][2] for i in range(n_c)])[c_idx]

    # ---- the tail: Poisson noise codes per admission, Zipf-frequent, of the admission's ICD era
    tail = vocab[vocab["group"] == "TAIL"]
    n_tail = rng.poisson(cfg.tail_per_admission, A)
    ta = np.repeat(np.arange(A), n_tail)
    tail_tok = np.empty(len(ta), dtype=object)
    for ver, e in ((9, False), (10, True)):
        pool = tail[tail["version"] == ver]
        w = pool["weight"].to_numpy() / pool["weight"].sum()
        sel = era10[ta] == e
        tail_tok[sel] = rng.choice(pool["token"].to_numpy(), size=int(sel.sum()), p=w)
    a_all = np.concatenate([a_idx, ta])
    tok_all = np.concatenate([tokens, tail_tok])
    kind_all = np.concatenate([kinds, np.full(len(ta), "dx")])

    tables = _to_tables(rng, cfg, subj, t, a_all, tok_all, kind_all, age0, female, start_year, vocab, hf_adm & at_index)
    truth = pd.DataFrame({"subject_id": tables["patients"]["subject_id"].to_numpy(), "hf": hf.astype(int),
                          "index_day": index_day, "oracle_logit": oracle, "age0": age0, "frailty": frail})
    for j, d in enumerate(RISK_DISEASES):
        truth[d] = risk[:, j].astype(int)
    return EhrCohort(tables=tables, truth=truth, vocabulary=vocab.drop(columns=["concept_id"]), config=cfg)


def _to_tables(rng, cfg, subj, t, a_all, tok_all, kind_all, age0, female, start_year, vocab, hf_index_adm) -> dict:
    """Lay the simulated admissions and codes out as the MIMIC-IV hosp tables (shifted dates)."""
    import pandas as pd

    n = len(age0)
    A = len(subj)
    subject_id = np.sort(10_000_000 + rng.choice(9_000_000, size=n, replace=False))
    hadm_id = 20_000_000 + rng.choice(10_000_000, size=A, replace=False)
    anchor_year = rng.integers(2110, 2190, n)
    origin = (pd.to_datetime(anchor_year.astype(str), format="%Y").to_numpy().astype("datetime64[s]")
              + _secs(rng.uniform(0, 300, n) * 86400))
    admit = origin[subj] + _secs(t * 86400 + rng.uniform(0, 86400, A))
    los = 1.0 + rng.gamma(2.0, 2.0, A)
    disch = admit + _secs(los * 86400)
    group_start = (np.floor((np.floor(start_year) - 2008) / 3) * 3 + 2008).astype(int)
    patients = pd.DataFrame({
        "subject_id": subject_id, "gender": np.where(female, "F", "M"), "anchor_age": np.floor(age0).astype(int),
        "anchor_year": anchor_year,
        "anchor_year_group": [f"{g} - {g + 2}" for g in group_start], "dod": None})
    admissions = pd.DataFrame({
        "subject_id": subject_id[subj], "hadm_id": hadm_id, "admittime": _fmt(admit), "dischtime": _fmt(disch),
        "deathtime": None,
        "admission_type": rng.choice(["EW EMER.", "URGENT", "ELECTIVE", "OBSERVATION ADMIT"], A, p=[0.55, 0.2, 0.15, 0.1]),
        "admit_provider_id": None, "admission_location": rng.choice(["EMERGENCY ROOM", "PHYSICIAN REFERRAL", "TRANSFER FROM HOSPITAL"], A),
        "discharge_location": rng.choice(["HOME", "HOME HEALTH CARE", "SKILLED NURSING FACILITY"], A),
        "insurance": rng.choice(["Medicare", "Medicaid", "Other"], A), "language": "English",
        "marital_status": None, "race": None, "edregtime": None, "edouttime": None, "hospital_expire_flag": 0})

    kind_all = np.asarray(kind_all)
    tok_all = np.asarray(tok_all, dtype=object)
    info = vocab.set_index("token")
    # diagnoses: HF first at the HF admission, the rest in random order
    dx = kind_all == "dx"
    da, dt = a_all[dx], tok_all[dx]
    prio = rng.random(len(da)) + 2.0 * ~(hf_index_adm[da] & pd.Series(dt).str.match(r"DX(9:428|10:I50)").to_numpy())
    o = np.lexsort((prio, da))
    da, dt = da[o], dt[o]
    seq = np.arange(len(da)) - np.searchsorted(da, da) + 1
    diagnoses = pd.DataFrame({"subject_id": subject_id[subj[da]], "hadm_id": hadm_id[da], "seq_num": seq,
                              "icd_code": info.loc[dt, "code"].to_numpy(), "icd_version": info.loc[dt, "version"].to_numpy()})
    # procedures: chart date within the stay
    px = kind_all == "px"
    pa, pt = a_all[px], tok_all[px]
    o = np.argsort(pa, kind="stable")
    pa, pt = pa[o], pt[o]
    when = admit[pa] + _secs(rng.uniform(0, 1, len(pa)) * los[pa] * 86400)
    procedures = pd.DataFrame({"subject_id": subject_id[subj[pa]], "hadm_id": hadm_id[pa],
                               "seq_num": np.arange(len(pa)) - np.searchsorted(pa, pa) + 1,
                               "chartdate": np.datetime_as_string(when, unit="D"),
                               "icd_code": info.loc[pt, "code"].to_numpy(), "icd_version": info.loc[pt, "version"].to_numpy()})
    # prescriptions: start within the stay; a fifth of the orders repeated later in the stay
    rx = kind_all == "rx"
    ra, rt = a_all[rx], tok_all[rx]
    rep = rng.random(len(ra)) < 0.2
    ra, rt = np.concatenate([ra, ra[rep]]), np.concatenate([rt, rt[rep]])
    start = admit[ra] + _secs(rng.uniform(0, 0.9, len(ra)) * los[ra] * 86400)
    stop = start + _secs(rng.uniform(1, 5, len(ra)) * 86400)
    prescriptions = pd.DataFrame({
        "subject_id": subject_id[subj[ra]], "hadm_id": hadm_id[ra], "pharmacy_id": 30_000_000 + np.arange(len(ra)),
        "starttime": _fmt(start), "stoptime": _fmt(stop), "drug_type": "MAIN",
        "drug": info.loc[rt, "code"].to_numpy(), "route": "PO"})
    prescriptions = prescriptions.sort_values(["subject_id", "starttime"], kind="stable").reset_index(drop=True)

    titles = vocab.assign(long_title=vocab["concept"] + " (simulated)")
    d_dx = titles[titles["kind"] == "dx"][["code", "version", "long_title"]].rename(
        columns={"code": "icd_code", "version": "icd_version"})
    d_px = titles[titles["kind"] == "px"][["code", "version", "long_title"]].rename(
        columns={"code": "icd_code", "version": "icd_version"})
    return {"patients": patients, "admissions": admissions, "diagnoses_icd": diagnoses,
            "procedures_icd": procedures, "prescriptions": prescriptions,
            "d_icd_diagnoses": d_dx.reset_index(drop=True), "d_icd_procedures": d_px.reset_index(drop=True)}


def _secs(x: np.ndarray) -> np.ndarray:
    """Float seconds → timedelta64[s] (truncated)."""
    return np.asarray(x).astype(np.int64).astype("timedelta64[s]")


def _fmt(times: np.ndarray) -> np.ndarray:
    """datetime64 → ``YYYY-MM-DD HH:MM:SS`` strings (the MIMIC-IV timestamp format)."""
    return np.char.replace(np.datetime_as_string(times.astype("datetime64[s]"), unit="s"), "T", " ")


def code_group_table(vocab: "pd.DataFrame", tokens: Sequence[str]) -> "pd.DataFrame":  # noqa: F821
    """Ground truth for a list of tokens (e.g. an embedding vocabulary): group, concept, kind (unknown: ``?``)."""
    info = vocab.set_index("token")[["group", "concept", "kind"]]
    return info.reindex(list(tokens)).fillna("?").reset_index().rename(columns={"index": "token"})
