"""The smoke-mode budget, read from the records: wall time and peak memory per notebook."""
from __future__ import annotations

import statistics
from typing import Any

from .report import load_records

BUDGET_MEDIAN_S = 15.0
BUDGET_MAX_S = 45.0
BUDGET_MEMORY_MB = 2048.0


def bench_table(records: dict[str, dict[str, Any]] | None = None) -> tuple[str, bool]:
    """A text table of each notebook's smoke wall time and peak memory, the median and max, and flags.

    Returns the table and whether everything is within budget.
    """
    records = records if records is not None else load_records("smoke")
    if not records:
        return "no smoke records yet: run `make book` or `make test` first", False
    rows = []
    walls = []
    ok = True
    for pid, rec in sorted(records.items()):
        wall = rec.get("wall_s")
        mem = rec.get("peak_memory_mb", float("nan"))
        flags = []
        if wall is None:
            flags.append("no wall time (run through `medrepro run`)")
        else:
            walls.append(wall)
            if wall > BUDGET_MAX_S:
                flags.append(f"over {BUDGET_MAX_S:.0f} s")
        if mem > BUDGET_MEMORY_MB:
            flags.append(f"over {BUDGET_MEMORY_MB:.0f} MB")
        ok &= not flags
        rows.append(f"{pid:<32} {wall if wall is not None else float('nan'):>8.1f} {mem:>10.0f}  {'; '.join(flags) or 'ok'}")
    med = statistics.median(walls) if walls else float("nan")
    mx = max(walls) if walls else float("nan")
    if walls and med > BUDGET_MEDIAN_S:
        ok = False
    head = f"{'notebook':<32} {'wall s':>8} {'peak MB':>10}  flags"
    foot = (f"\n{len(walls)} notebooks: median {med:.1f} s (budget ≤ {BUDGET_MEDIAN_S:.0f}), "
            f"max {mx:.1f} s (budget ≤ {BUDGET_MAX_S:.0f}), memory budget ≤ {BUDGET_MEMORY_MB:.0f} MB — "
            f"{'within budget' if ok else 'OVER BUDGET'}")
    return "\n".join([head, "-" * len(head), *rows]) + foot, ok
