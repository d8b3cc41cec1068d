"""The ECG simulator and the report generator: shapes, determinism, label logic, class differences, speed."""
from __future__ import annotations

import time

import numpy as np
import pytest

from medrepro.sim.ecg import FINDINGS, LEADS, NoiseSpec, SimConfig, simulate_12lead
from medrepro.sim.reports import NEGATIVE, POSITIVE, generate_reports

QUIET = NoiseSpec(scale=0.0)


@pytest.fixture(scope="module")
def batch():
    return simulate_12lead(400, fs=250, seconds=10.0, seed=3)


@pytest.fixture(scope="module")
def clean():
    return simulate_12lead(300, fs=250, seconds=10.0, seed=4, noise=QUIET)


def test_shapes_and_types(batch):
    assert batch.signals.shape == (400, 2500, 12) and batch.signals.dtype == np.float32
    assert batch.labels.shape == (400, len(FINDINGS)) and batch.labels.dtype == bool
    assert batch.leads == LEADS and batch.fs == 250.0
    assert set(batch.intervals) == {"rr_ms", "hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms"}
    assert all(v.shape == (400,) for v in batch.intervals.values())
    assert np.isfinite(batch.signals).all() and np.abs(batch.signals).max() < 15.0
    assert batch.r_peaks.shape[0] == 400 and (batch.r_peaks < 2500).all()
    sub = batch.subset([0, 5])
    assert len(sub) == 2 and np.array_equal(sub.signals[1], batch.signals[5])


def test_deterministic_by_seed():
    a = simulate_12lead(20, fs=100, seconds=5, seed=7)
    b = simulate_12lead(20, fs=100, seconds=5, seed=7)
    c = simulate_12lead(20, fs=100, seconds=5, seed=8)
    assert np.array_equal(a.signals, b.signals) and np.array_equal(a.labels, b.labels)
    assert not np.allclose(a.signals, c.signals)


def test_label_logic_matches_ground_truth(batch):
    lab = {f: batch.label(f) for f in FINDINGS}
    hr, pr, qrs = batch.intervals["hr_bpm"], batch.intervals["pr_ms"], batch.intervals["qrs_ms"]
    others = np.stack([lab[f] for f in FINDINGS if f != "NORM"], axis=1)
    assert np.array_equal(lab["NORM"], ~others.any(1))
    assert (hr[lab["SBRAD"]] < 60).all() and (~lab["AFIB"][lab["SBRAD"]]).all()
    assert (hr[lab["STACH"]] > 100).all()
    sinus = ~lab["AFIB"]
    assert np.array_equal(lab["SBRAD"], sinus & (hr < 60)) and np.array_equal(lab["STACH"], sinus & (hr > 100))
    assert np.array_equal(np.isnan(pr), lab["AFIB"])
    assert (pr[lab["AVB1"]] > 200).all() and (pr[sinus & ~lab["AVB1"]] <= 200).all()
    assert (qrs[lab["BBB"]] >= 120).all() and (qrs[~lab["BBB"]] < 120).all()
    assert (batch.meta["st_mV"][lab["STE"]] >= 0.1).all()
    # every finding occurs, and several co-occur
    assert lab["NORM"].mean() > 0.1 and all(lab[f].any() for f in FINDINGS)
    assert (others.sum(1) >= 2).mean() > 0.1
    # borderline cases exist on the unlabelled side of the cut-offs
    assert ((hr > 55) & (hr < 60)).any() and ((hr > 100) & (hr < 105)).any()
    assert batch.meta["bbb_incomplete"].any() and ((pr > 185) & (pr <= 200)).any()


def test_einthoven_and_goldberger_hold_without_noise(clean):
    s = clean.signals
    i, ii, iii, avr, avl, avf = (s[..., LEADS.index(n)] for n in ("I", "II", "III", "aVR", "aVL", "aVF"))
    assert np.allclose(iii, ii - i, atol=1e-4)
    assert np.allclose(avr, -(i + ii) / 2, atol=1e-4)
    assert np.allclose(avl, i - ii / 2, atol=1e-4) and np.allclose(avf, ii - i / 2, atol=1e-4)


def test_r_peaks_give_the_heart_rate(clean):
    rp = clean.r_peaks
    for k in range(30):
        peaks = rp[k][rp[k] >= 0]
        if len(peaks) >= 3:
            hr = 60.0 * clean.fs / np.diff(peaks).mean()
            assert abs(hr - clean.intervals["hr_bpm"][k]) < 3.0


def test_class_differences_are_visible_in_the_signals(clean):
    rp, fs = clean.r_peaks, clean.fs
    # AF: irregular RR intervals
    cv = np.array([np.std(np.diff(p[p >= 0])) / np.mean(np.diff(p[p >= 0])) for p in rp])
    af = clean.label("AFIB")
    assert cv[af].mean() > 2 * cv[~af].mean()
    # bundle branch block: wider QRS, measured as the time |dV/dt| of the lead-field norm stays high around R
    grad = np.linalg.norm(np.diff(clean.signals, axis=1), axis=2) * fs  # mV/s
    width = []
    for k in range(len(clean)):
        peaks = rp[k][(rp[k] > 40) & (rp[k] < clean.signals.shape[1] - 40)]
        w = [np.sum(grad[k, p - 40:p + 40] > 0.25 * grad[k, p - 40:p + 40].max()) for p in peaks]
        width.append(np.median(w) / fs * 1000 if w else np.nan)
    width = np.array(width)
    bbb = clean.label("BBB")
    assert np.nanmean(width[bbb]) > np.nanmean(width[~bbb & ~clean.meta["bbb_incomplete"]]) + 10


def test_prevalence_knobs():
    none = SimConfig(p_afib=0, p_bbb=0, p_incomplete_bbb=0, p_ste=0, p_std=0, p_qmi=0, p_lvh=0, p_avb1=0)
    b = simulate_12lead(100, fs=100, seconds=5, seed=1, config=none)
    for f in ("AFIB", "BBB", "STE", "STD", "QMI", "LVH", "AVB1"):
        assert not b.label(f).any()


def test_speed_many_records_per_second():
    simulate_12lead(8, fs=100, seconds=10)
    start = time.perf_counter()
    simulate_12lead(500, fs=100, seconds=10.0, seed=0)
    rate = 500 / (time.perf_counter() - start)
    assert rate > 500, f"{rate:.0f} ten-second 12-lead records per second at 100 Hz"


def test_reports_follow_the_findings(batch):
    reps = generate_reports(batch, seed=0, omit_prob=0.0, false_prob=0.0, negation_prob=0.0, hedge_prob=0.0)
    assert len(reps) == len(batch) and all(r == r.lower() and r for r in reps)
    for k in range(60):
        for j, f in enumerate(batch.findings):
            mentioned = any(p in reps[k] for p in POSITIVE[f])
            if batch.labels[k, j]:
                assert mentioned, (f, reps[k])
    assert reps == generate_reports(batch, seed=0, omit_prob=0.0, false_prob=0.0, negation_prob=0.0, hedge_prob=0.0)


def test_report_noise_knobs(batch):
    noisy = generate_reports(batch, seed=1, omit_prob=1.0, false_prob=0.0, negation_prob=1.0)
    # every finding omitted: no positive name of a labelled finding; negations appear for absent ones
    assert not any("atrial fibrillation" in r for r, af in zip(noisy, batch.label("AFIB")) if af)
    assert any(any(n in r for ns in NEGATIVE.values() for n in ns) for r in noisy)
    varied = generate_reports(batch, seed=2)
    assert len(set(varied)) > 0.5 * len(varied)  # free text, not a handful of templates


def test_records_of_a_patient_share_morphology():
    b = simulate_12lead(60, fs=100, seconds=5, seed=5, n_patients=6)
    assert set(np.unique(b.patient_id)) <= set(range(6)) and len(np.unique(b.patient_id)) > 1
    for p in np.unique(b.patient_id):
        axis = b.meta["axis_deg"][b.patient_id == p]
        assert np.allclose(axis, axis[0])  # same heart rotation (electrical axis) for every record of a patient
    assert len(np.unique(np.round(b.meta["axis_deg"], 6))) == len(np.unique(b.patient_id))
