"""Train the two tiny diffusion priors that notebooks/echo/us-dehazing-diffusion.ipynb loads in smoke mode.

The paper's priors are trained once, separately and beforehand: one on clean tissue, one on haze alone. Training
both inside a smoke run does not fit its budget (measured on the shared 2-core machine: one optimizer step of the
8/16-channel denoiser on a batch of 64 24-px images costs ~70 ms, and each prior needs ~2,000 steps), so this
script trains them from simulated data and writes medrepro/resources/us_dehazing_priors_v1.pt (~0.2 MB):

- tissue prior: envelope crops of simulated apical four-chamber cines written in the CAMUS layout and read back
  with medrepro.data.datasets.camus (CONFIG["sim"]: 300 patients, simulator seed 1000 — not a notebook seed);
- haze prior: fresh medrepro.sim.echo.simulate_haze fields at every step (CONFIG["haze"], 20 % clear).

Usage: python tools/train_us_dehazing_priors.py [--steps N] [--patients N] [--out PATH]
(tests/test_us_dehazing_diffusion.py runs it with a few steps). Full mode of the notebook trains the same priors
on real CAMUS frames with the same functions (medrepro.dehazing.train_prior).
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from medrepro import dehazing  # noqa: E402
from medrepro.data.datasets import camus  # noqa: E402
from medrepro.train import run_arms  # noqa: E402


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cfg = dehazing.CONFIG
    ap.add_argument("--steps", type=int, default=cfg["steps"], help="optimizer steps of each prior")
    ap.add_argument("--patients", type=int, default=cfg["sim"]["n_patients"], help="simulated patients")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src" / "medrepro" /
                    "resources" / dehazing.CHECKPOINT)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        root = camus.write_simulated(tmp, a.patients, size=cfg["image"], seed=cfg["sim"]["seed"], views=("4CH",),
                                     spec_overrides=dict(fps=cfg["sim"]["fps"]))
        frames = np.concatenate([camus.load_sequence(root, p, "4CH", labels=False).frames
                                 for p in camus.list_patients(root)])
    tissue = dehazing.frames_to_envelope(frames)
    sector = dehazing.sector_of(tissue)
    # the two priors are independent: one per core (each seeds itself, so the result equals a serial run)
    (sx, cx), (sh, ch) = run_arms(dehazing.train_prior, [
        dict(kind="tissue", tissue=tissue, sector=sector, steps=a.steps, seed=1),
        dict(kind="haze", tissue=None, sector=sector, steps=a.steps, seed=2)])
    meta = dict(steps=a.steps, patients=a.patients, frames=len(tissue), seconds=round(time.time() - t0, 1),
                torch=torch.__version__, cpu=platform.machine(), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                script="tools/train_us_dehazing_priors.py")
    priors = dehazing.make_priors(sx, sh, cx, ch, tissue, sector, meta=meta)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    dehazing.save_priors(priors, a.out)
    print(f"{a.out}: {a.out.stat().st_size / 1e6:.2f} MB; {len(tissue)} tissue frames of {a.patients} patients; "
          f"{a.steps} steps each; monitor loss tissue {cx[0]:.4f} -> {cx[-1]:.4f}, haze {ch[0]:.4f} -> {ch[-1]:.4f}; "
          f"{meta['seconds']} s")
    return a.out


if __name__ == "__main__":
    main()
