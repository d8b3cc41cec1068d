"""Build notebooks/TEMPLATE.ipynb: the smallest notebook that follows the whole contract.

Run: .venv/bin/python tools/build_template.py
"""
from pathlib import Path

import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# TEMPLATE — <paper title>

*<Authors>, <venue> <year>.* [arXiv:<id>](https://arxiv.org/abs/<id>) · [official code](<url>) ·
[Open in Colab](https://colab.research.google.com/github/medrepro/medrepro/blob/main/notebooks/TEMPLATE.ipynb)

**Summary.** <The paper's claim in one sentence.> <What this notebook reproduces.> <What it cannot
reproduce and why (private data, an LLM, compute).> This template shows the contract on a toy task: a
two-class signal problem, written as WFDB and read back, and one claim checked against chance.

**Learning objectives**
- Recognise the ten sections every medrepro notebook shares.
- State a claim with a threshold *before* measuring it, and record it.
- Round-trip simulated data through a real file format (WFDB)."""),
    md("""## Prerequisites

| concept | where to learn it | time |
|---|---|---|
| AUROC and bootstrap intervals | any statistics primer | 10 min |
| WFDB records | the [MERL notebook](ecg/merl.ipynb) | 10 min |

| compute | smoke | full |
|---|---|---|
| hardware | CPU, ~5 s | the same (this template has no full-mode data) |
| data access | simulated | — |"""),
    md("""## Parameters

The one cell tagged `parameters`. Defaults are the smoke run; papermill overrides them
(`-p MODE full -p DATA_DIR /data/...`)."""),
    code("""MODE = "smoke"      # "smoke": offline, CPU, simulated data; "full": real data via the manifest
SEED = 0
DATA_DIR = None     # full mode: folder holding the dataset (or where it is downloaded)
DEVICE = "auto"
BUDGET_S = None     # training time budget in seconds (None: no limit)
N_RECORDS = 200     # knob that scales the run
EFFECT = 0.4        # class separation of the toy signal (in noise standard deviations)""", metadata={"tags": ["parameters"]}),
    md("## Setup"),
    code("""import sys, subprocess
if "google.colab" in sys.modules:  # Colab: install medrepro; lower bounds only, so Colab's torch/numpy stay
    subprocess.run("git clone -q https://github.com/medrepro/medrepro /content/medrepro || true; "
                   "pip install -q -e /content/medrepro", shell=True, check=True)
    sys.path.insert(0, "/content/medrepro/src")

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import medrepro
from medrepro.data import io
from medrepro.metrics import auroc, bootstrap_ci
from medrepro.report import Claim, record

cfg = medrepro.setup(paper="template", mode=MODE, seed=SEED, device=DEVICE, data_dir=DATA_DIR, budget_s=BUDGET_S)
cfg"""),
    md("""## Data

Two classes of 2-second single-lead signals at 100 Hz: class 1 carries a 5 Hz component of amplitude
`EFFECT` on top of unit noise. Written as WFDB records and read back with the validating reader."""),
    code("""rng = cfg.rng()
fs, n = 100, 200
labels = rng.integers(0, 2, N_RECORDS)
t = np.arange(n) / fs
signals = rng.normal(size=(N_RECORDS, n)) + EFFECT * labels[:, None] * np.sin(2 * np.pi * 5 * t)

folder = medrepro.scratch_dir("template-")   # deleted when the kernel exits
for i, s in enumerate(signals[:20]):                       # a few records are enough to exercise the format
    io.write_wfdb(folder / f"rec{i:03d}", s[:, None], fs=fs, lead_names=["II"])
back = np.stack([io.read_wfdb(folder / f"rec{i:03d}").signal[:, 0] for i in range(20)])
print("max round-trip error (mV):", float(np.abs(back - signals[:20]).max()))"""),
    code("""fig, ax = plt.subplots(figsize=(8, 2.5))
for k in (0, 1):
    ax.plot(t, signals[labels == k][0], label=f"class {k}")
ax.set(title="One record per class", xlabel="time (s)", ylabel="amplitude (mV)")
ax.legend(); plt.show()"""),
    md("*Notice: the 5 Hz component is barely visible by eye at this effect size.*"),
    md("""## Method

The score of a record is its power at 5 Hz: $s = |\\sum_t x_t e^{-2\\pi i f t}|^2$ with $f = 5$ Hz."""),
    code("""spectrum = np.abs(np.fft.rfft(signals, axis=1)) ** 2      # |X(f)|^2 for every record
freqs = np.fft.rfftfreq(n, 1 / fs)
score = spectrum[:, np.argmin(np.abs(freqs - 5.0))]         # s = power at 5 Hz"""),
    md("""## Experiment

The claim is fixed before it is measured."""),
    code("""beats_chance = Claim("R", "AUROC of the 5 Hz power score", threshold=0.6,
                     why="chance is 0.5; with EFFECT=0.4 the expected AUROC is well above 0.6")
auc, lo, hi = bootstrap_ci(auroc, labels, score, seed=SEED)
beats_chance.check(auc, ci=(lo, hi))"""),
    md("## Results"),
    code("""fig, ax = plt.subplots(figsize=(5, 3))
ax.hist([score[labels == 0], score[labels == 1]], bins=30, label=["class 0", "class 1"], alpha=0.7)
ax.set(title="Score by class", xlabel="power at 5 Hz (a.u.)", ylabel="records"); ax.legend(); plt.show()
print(f"AUROC {auc:.3f} (95 % CI {lo:.3f}–{hi:.3f})")"""),
    md("*Notice: the classes overlap; the AUROC is well above chance but far from 1.*"),
    md("## Reproduction report"),
    code("""record(cfg, [beats_chance], metrics={"auroc": auc},
       deviations=["Template: a toy task, not a paper."]);"""),
    md("""## Exercises

1. Set `EFFECT = 0.1`. Does the claim still hold? What threshold would you have fixed, and why before the run?
2. Replace the 5 Hz power by the total power. Predict the AUROC first, then run."""),
    md("""## What next

- [MERL](ecg/merl.ipynb): zero-shot ECG classification — the first real notebook.
- [BCP](seg/bcp.ipynb): semi-supervised segmentation."""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"}})
out = Path(__file__).resolve().parents[1] / "notebooks" / "TEMPLATE.ipynb"
nbf.write(nb, str(out))
print("wrote", out)
