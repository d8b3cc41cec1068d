"""Comparison statements (change against the prior study) read from reports."""
from medrepro.sim import cxr
from medrepro.sim.cxr_reports import generate_reports
from medrepro.text.report_facts import comparison_statements


def test_each_change_word_is_read():
    text = ("FINDINGS: previously seen blunting of the costophrenic angle has resolved. increasing moderate left "
            "pleural effusion. new airspace consolidation; unchanged mild cardiomegaly. osseous structures are "
            "intact. IMPRESSION: see above.")
    assert comparison_statements(text) == {"effusion": "worse", "consolidation": "new", "cardiomegaly": "stable"}
    assert comparison_statements("atelectasis has decreased. interval resolution of pneumothorax.",
                                 use_sections=False) == {"atelectasis": "improved", "pneumothorax": "resolved"}


def test_no_change_word_no_statement():
    assert comparison_statements("moderate left pleural effusion. the lungs are clear.", use_sections=False) == {}


def test_generated_reports_state_the_simulated_changes():
    p = cxr.sample_params(300, seed=5)
    _, code = cxr.prior_params(p, seed=6, change_prob=0.8)
    reps = generate_reports(p.labels, p.severity, p.side, p.where, changes=code, seed=7, hedge_prob=0.0,
                            false_hedge_prob=0.0, negation_prob=0.0)
    n = 0
    for r, row in zip(reps, code):
        for f, change in comparison_statements(r.findings, use_sections=False).items():
            assert cxr.CHANGES[row[cxr.FINDINGS.index(f)]] == change
            n += 1
    assert n > 100
