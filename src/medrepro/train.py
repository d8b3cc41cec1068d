"""Training loops with a time budget, early stopping and AMP on CUDA; EMA teachers and ramp-ups."""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn


@dataclass
class FitResult:
    """What happened during :func:`fit`."""

    history: list[dict[str, float]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    stopped: str = "completed"  # completed | budget | early_stop
    best_score: float | None = None
    best_step: int | None = None

    @property
    def losses(self) -> list[float]:
        return [h["loss"] for h in self.history if "loss" in h]


def _batches(loader: Iterable | Callable[[], Iterable], epochs: int | None) -> Iterator[Any]:
    epoch = 0
    while epochs is None or epoch < epochs:
        it = loader() if callable(loader) else loader
        got = False
        for batch in it:
            got = True
            yield batch
        if not got:
            raise ValueError("the loader yielded no batch")
        epoch += 1


def fit(
    model: nn.Module,
    step_fn: Callable[[Any], torch.Tensor | dict[str, torch.Tensor]],
    loader: Iterable | Callable[[], Iterable],
    *,
    optimizer: torch.optim.Optimizer,
    steps: int | None = None,
    epochs: int | None = None,
    budget_s: float | None = None,
    eval_fn: Callable[[], float] | None = None,
    eval_every: int = 50,
    patience: int | None = None,
    maximize: bool = True,
    restore_best: bool = True,
    device: torch.device | str | None = None,
    amp: bool | str = "auto",
    after_step: Callable[[int], None] | None = None,
    progress: bool = True,
    desc: str = "train",
    log_every: int = 10,
) -> FitResult:
    """Train ``model`` by calling ``step_fn(batch) -> loss`` on batches from ``loader``.

    ``step_fn`` computes the loss of one batch (it may return a dict with a ``"loss"`` key and other
    scalars to log); ``fit`` does the backward pass, the optimizer step, AMP on CUDA, the progress bar,
    the time budget and early stopping.

    Args:
        steps / epochs: stop after this many optimizer steps / passes over ``loader`` (at least one given).
        budget_s: stop when this many seconds have passed (checked every step).
        eval_fn: returns a validation score; called every ``eval_every`` steps and at the end.
        patience: stop after this many evaluations without improvement (needs ``eval_fn``).
        restore_best: with ``eval_fn``, load the weights of the best evaluation at the end.
        amp: ``"auto"`` uses bfloat16/float16 autocast on CUDA only.
        after_step: called with the step number after each optimizer step (e.g. an EMA update).
    """
    if steps is None and epochs is None:
        raise ValueError("give steps or epochs")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    use_amp = (amp is True) or (amp == "auto" and dev.type == "cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and dev.type == "cuda")
    result = FitResult()
    best_state: dict[str, torch.Tensor] | None = None
    bad_evals = 0
    start = time.perf_counter()
    bar = None
    if progress and not _IN_ARM_WORKER:     # a forked arm worker must not talk to the notebook's kernel (widgets)
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, leave=False, mininterval=0.5)
    model.train()

    def evaluate() -> bool:
        nonlocal best_state, bad_evals
        model.eval()
        with torch.no_grad():
            score = float(eval_fn())
        model.train()
        result.history.append({"step": result.steps, "eval": score})
        better = result.best_score is None or (score > result.best_score if maximize else score < result.best_score)
        if better:
            result.best_score, result.best_step, bad_evals = score, result.steps, 0
            if restore_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            bad_evals += 1
        return patience is not None and bad_evals >= patience

    try:
        for batch in _batches(loader, epochs):
            with torch.autocast(device_type=dev.type, enabled=use_amp):
                out = step_fn(batch)
            loss = out["loss"] if isinstance(out, dict) else out
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {result.steps}")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            result.steps += 1
            if after_step is not None:
                after_step(result.steps)
            if result.steps % log_every == 0 or result.steps == 1:
                entry = {"step": result.steps, "loss": float(loss.detach())}
                if isinstance(out, dict):
                    entry.update({k: float(v.detach()) if torch.is_tensor(v) else float(v)
                                  for k, v in out.items() if k != "loss"})
                result.history.append(entry)
                if bar is not None:
                    bar.set_postfix(loss=f"{entry['loss']:.4f}")
            if bar is not None:
                bar.update(1)
            if eval_fn is not None and result.steps % eval_every == 0 and evaluate():
                result.stopped = "early_stop"
                break
            if steps is not None and result.steps >= steps:
                break
            if budget_s is not None and time.perf_counter() - start > budget_s:
                result.stopped = "budget"
                break
    finally:
        if bar is not None:
            bar.close()
    if eval_fn is not None and result.stopped != "early_stop" and (result.steps % eval_every != 0):
        evaluate()
    if best_state is not None and restore_best:
        model.load_state_dict(best_state)
    model.eval()
    result.seconds = time.perf_counter() - start
    return result


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """Mean-teacher update: θ_teacher ← decay · θ_teacher + (1 − decay) · θ_student (buffers copied)."""
    for t, s in zip(teacher.parameters(), student.parameters()):
        t.mul_(decay).add_(s.detach(), alpha=1.0 - decay)
    for tb, sb in zip(teacher.buffers(), student.buffers()):
        tb.copy_(sb)


def make_teacher(student: nn.Module) -> nn.Module:
    """A frozen deep copy of ``student`` to be updated by :func:`ema_update`."""
    teacher = copy.deepcopy(student)
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def sigmoid_rampup(step: float, length: float) -> float:
    """exp(−5 (1 − t)²) for t = step/length clipped to [0, 1] (Laine & Aila, 2017)."""
    if length <= 0:
        return 1.0
    t = min(max(step / length, 0.0), 1.0)
    return float(math.exp(-5.0 * (1.0 - t) ** 2))


@torch.no_grad()
def embed(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Apply ``model`` to ``x`` in batches without gradients and concatenate the outputs."""
    return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def linear_probe(train_x, train_y, test_x, *, multilabel: bool = False, c: float = 1.0, seed: int = 0):
    """Fit a logistic-regression probe on frozen features and return test scores (probabilities).

    For ``multilabel`` a one-vs-rest probe per column of ``train_y``; a column with a single class in the
    training labels gets a constant score (its training prevalence).
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    xtr, xte = scaler.transform(train_x), scaler.transform(test_x)
    if not multilabel:
        clf = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(xtr, train_y)
        return clf.predict_proba(xte)
    train_y = np.asarray(train_y)
    out = np.zeros((len(xte), train_y.shape[1]))
    for j in range(train_y.shape[1]):
        col = train_y[:, j]
        if col.min() == col.max():
            out[:, j] = col.mean()
            continue
        out[:, j] = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(xtr, col).predict_proba(xte)[:, 1]
    return out


def loss_plateau(losses: Sequence[float], frac: float = 0.2, relative: bool = True) -> float:
    """Change of the mean loss over the last ``frac`` of a run against the ``frac`` before it.

    ``|mean(last) − mean(previous)|``, divided by ``|mean(previous)|`` when ``relative`` (use the absolute
    change, in the loss's units, for a loss that approaches 0, where a relative change says nothing): a small
    value says the loss has flattened, the evidence a ``V`` claim needs that compared arms were trained enough
    to differ by method, not by budget.
    ``losses`` is the logged curve in step order (e.g. ``FitResult.losses``); it needs at least
    ``2 / frac`` entries so that each window holds one.
    """
    v = np.asarray(losses, dtype=float)
    if v.ndim != 1 or not np.all(np.isfinite(v)):
        raise ValueError(f"loss_plateau needs a 1-D curve of finite losses, got shape {v.shape}")
    if not 0 < frac <= 0.5:
        raise ValueError(f"frac must lie in (0, 0.5], got {frac}")
    w = int(len(v) * frac)
    if w < 1:
        raise ValueError(f"loss_plateau: {len(v)} logged losses are too few for windows of {frac:.0%}")
    last, prev = v[len(v) - w:].mean(), v[len(v) - 2 * w: len(v) - w].mean()
    if not relative or prev == 0:
        return float(abs(last - prev))
    return float(abs(last - prev) / abs(prev))


# --- independent arms on both cores -------------------------------------------------------------------------------
# A smoke run pins torch to one thread (config.SMOKE_THREADS): for networks this small a second OpenMP thread adds
# synchronisation, not arithmetic. Compared arms (method, baseline, ablation) are independent trainings, so the
# second core is better spent on a second arm. run_arms forks one worker process per core; every call runs
# exactly as it would in the parent, so a call that seeds itself returns the same numbers either way.
_ARM_CALLS: list[tuple[Callable[..., Any], tuple, dict]] = []
_IN_ARM_WORKER = False      # set in a forked worker: fit() then draws no progress bar


def arm_workers() -> int:
    """How many arms :func:`run_arms` runs at once here: 2 for a one-thread run on Linux with two or more cores.

    One (run the arms one after another) when torch uses more than one thread (full mode), when CUDA is in use
    (a forked child cannot use the parent's CUDA context), where ``fork`` is not the safe default (macOS,
    Windows), or when ``$MEDREPRO_ARM_WORKERS`` says so (``1`` switches the parallel runs off).
    """
    import os
    import sys

    if os.environ.get("MEDREPRO_ARM_WORKERS"):
        return max(1, int(os.environ["MEDREPRO_ARM_WORKERS"]))
    if (not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2 or torch.get_num_threads() != 1
            or torch.cuda.is_initialized()):
        return 1
    return 2


def _run_arm(index: int) -> tuple[Any, str, str]:
    """In a forked worker: run call ``index`` with its printed output captured, to be shown by the parent in order."""
    import contextlib
    import io

    global _IN_ARM_WORKER
    _IN_ARM_WORKER = True
    fn, args, kwargs = _ARM_CALLS[index]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = fn(*args, **kwargs)
    return result, out.getvalue(), err.getvalue()


def run_arms(fn: Callable[..., Any], calls: Sequence[tuple | dict], *, workers: int | None = None) -> list[Any]:
    """Run independent calls ``fn(*call)`` (or ``fn(**call)``), on several cores where :func:`arm_workers` allows.

    Meant for compared arms that train separately: each call must **seed itself** (``torch.manual_seed``, its own
    ``torch.Generator`` and ``np.random.default_rng``) and must not rely on what another call changes, because
    in a worker it sees the parent's state as it was when ``run_arms`` was called. Such calls return exactly
    what running them one after another returns (``tests/test_train_arms.py`` checks it bit for bit), so the
    parallel run changes the wall time, never a number. Workers are forked children with the parent's thread
    count; what a call prints is captured and printed by the parent in call order; an exception in a call is
    raised here. A call must not display anything (figures, widgets): a worker may not use the notebook
    kernel's connection, so :func:`fit` draws no progress bar there. Results travel back by pickling (models, tensors, arrays, lists: fine; open files: not).
    Returns the results in the order of ``calls``.
    """
    import multiprocessing as mp
    import sys
    from concurrent.futures import ProcessPoolExecutor

    norm = [((), dict(c)) if isinstance(c, dict) else (tuple(c), {}) for c in calls]
    n = min(workers if workers is not None else arm_workers(), len(norm))
    if n <= 1:
        return [fn(*a, **k) for a, k in norm]
    global _ARM_CALLS
    _ARM_CALLS = [(fn, a, k) for a, k in norm]      # the forked workers inherit it: nothing of fn is pickled
    threads = torch.get_num_threads()
    try:
        with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork"),
                                 initializer=torch.set_num_threads, initargs=(threads,)) as pool:
            done = [f.result() for f in [pool.submit(_run_arm, i) for i in range(len(norm))]]
    finally:
        _ARM_CALLS = []
    results = []
    for result, out, err in done:
        sys.stdout.write(out)
        sys.stderr.write(err)
        results.append(result)
    return results
