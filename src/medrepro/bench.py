"""The smoke-mode budget, read from the records: time and peak memory per notebook.

The budget (CONTRIBUTING.md) is a notebook's wall time *alone* on two cores. `make test` runs two notebooks at
once, so the wall time in a record is measured with another notebook sharing the cores and can be up to twice
the time alone. Each record therefore also carries ``cpu_s``, the CPU seconds of the kernel and of the workers it
forked: at one thread that is close to the wall time alone (CONTRIBUTING.md, measured), and an upper bound for the
notebooks whose arms train on both cores (``run_arms``), whose CPU seconds count both workers. The budget is
judged on ``cpu_s`` where a record has it, otherwise on the wall time.
"""
from __future__ import annotations

import statistics
from typing import Any

from .report import load_records

BUDGET_MEDIAN_S = 15.0
BUDGET_MAX_S = 45.0
BUDGET_MEMORY_MB = 2048.0


def alone_s(rec: dict[str, Any]) -> float | None:
    """The record's estimate of the notebook's time alone: its CPU seconds, or its wall time without them."""
    cpu = rec.get("cpu_s")
    return cpu if cpu is not None else rec.get("wall_s")


def bench_table(records: dict[str, dict[str, Any]] | None = None) -> tuple[str, bool]:
    """A text table of each notebook's smoke wall time, CPU seconds and peak memory, the medians and max, and flags.

    Returns the table and whether everything is within budget (judged on :func:`alone_s`).
    """
    records = records if records is not None else load_records("smoke")
    if not records:
        return "no smoke records yet: run `make book` or `make test` first", False
    rows = []
    judged, walls = [], []
    ok = True
    nan = float("nan")
    for pid, rec in sorted(records.items()):
        wall, cpu, t = rec.get("wall_s"), rec.get("cpu_s"), alone_s(rec)
        mem = rec.get("peak_memory_mb", nan)
        flags = []
        if t is None:
            flags.append("no wall time (run through `medrepro run`)")
        else:
            judged.append(t)
            if wall is not None:
                walls.append(wall)
            if t > BUDGET_MAX_S:
                flags.append(f"over {BUDGET_MAX_S:.0f} s")
        if mem > BUDGET_MEMORY_MB:
            flags.append(f"over {BUDGET_MEMORY_MB:.0f} MB")
        ok &= not flags
        rows.append(f"{pid:<32} {wall if wall is not None else nan:>8.1f} {cpu if cpu is not None else nan:>7.1f} "
                    f"{mem:>8.0f}  {'; '.join(flags) or 'ok'}")
    med = statistics.median(judged) if judged else nan
    mx = max(judged) if judged else nan
    if judged and med > BUDGET_MEDIAN_S:
        ok = False
    basis = ("CPU seconds" if all(r.get("cpu_s") is not None for r in records.values()) else
             "CPU seconds where recorded, else wall time")
    head = f"{'notebook':<32} {'wall s':>8} {'CPU s':>7} {'peak MB':>8}  flags"
    foot = (f"\n{len(judged)} notebooks, judged on {basis} (the time alone; wall time was measured with another "
            f"notebook beside it): median {med:.1f} s (budget ≤ {BUDGET_MEDIAN_S:.0f}), max {mx:.1f} s "
            f"(budget ≤ {BUDGET_MAX_S:.0f}), memory budget ≤ {BUDGET_MEMORY_MB:.0f} MB — "
            f"{'within budget' if ok else 'OVER BUDGET'}"
            + (f"\nwall time as run: median {statistics.median(walls):.1f} s, max {max(walls):.1f} s" if walls else ""))
    return "\n".join([head, "-" * len(head), *rows]) + foot, ok
