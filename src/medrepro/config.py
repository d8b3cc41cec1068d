"""Run configuration: one call at the top of every notebook.

``cfg = medrepro.setup(paper="merl", mode=MODE, seed=SEED, device=DEVICE, data_dir=DATA_DIR)``
seeds every generator, picks the device, caps the threads, starts the clock that the reproduction
record reads, and — in smoke mode — makes any network connection raise.
"""
from __future__ import annotations

import os
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MODES = ("smoke", "full")
# Threads (torch and BLAS) of every smoke run, whatever the environment says (see setup). One, measured: the
# smoke networks are small, so a second OpenMP thread adds synchronisation, not arithmetic (wau-upsample 67.7 ->
# 37.3 s, sam-med2d 62.1 -> 22.3 s, multiscale-guided-attention 99.5 -> ~44 s wall on the 2-core machine), and CI's
# two pytest workers then get a core each instead of four threads on two cores.
SMOKE_THREADS = 1


class NetworkBlockedError(RuntimeError):
    """Raised when code tries to reach the network in smoke mode."""


@dataclass
class RunConfig:
    """Everything a notebook run needs to know about itself."""

    paper: str
    mode: str
    seed: int
    device: Any  # torch.device; typed loosely so that importing this module does not import torch
    data_dir: Path | None
    budget_s: float | None
    started: float = field(default_factory=time.perf_counter)
    started_wall: float = field(default_factory=time.time)
    threads: int = 1

    @property
    def smoke(self) -> bool:
        return self.mode == "smoke"

    @property
    def full(self) -> bool:
        return self.mode == "full"

    @property
    def on_fixture(self) -> bool:
        """True when full mode runs on a miniature fixture written by ``make_fixture`` (tests)."""
        from .data.datasets import is_fixture

        return self.full and self.data_dir is not None and is_fixture(self.data_dir)

    def elapsed(self) -> float:
        """Seconds since ``setup()``."""
        return time.perf_counter() - self.started

    def rng(self, offset: int = 0) -> np.random.Generator:
        """A numpy generator derived from the run seed (``offset`` gives independent streams)."""
        return np.random.default_rng(self.seed + 1_000_003 * offset)

    def __repr__(self) -> str:  # compact, for the notebook output
        budget = f"{self.budget_s:.0f} s" if self.budget_s else "none"
        data = str(self.data_dir) if self.data_dir else "simulated / package data"
        return (f"RunConfig(paper={self.paper!r}, mode={self.mode!r}, seed={self.seed}, device={self.device}, "
                f"threads={self.threads}, budget={budget}, data={data})")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import torch

    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def pick_device(device: str = "auto"):
    """``"auto"`` → CUDA if available, else Apple MPS, else CPU; anything else is passed to ``torch.device``."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_create_connection = socket.create_connection
_real_getaddrinfo = socket.getaddrinfo

_LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if isinstance(address, tuple) and address:
        return str(address[0]) in _LOCAL or str(address[0]).startswith("127.")
    return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise NetworkBlockedError(
            f"smoke mode is offline: a connection to {address!r} was blocked. "
            "Smoke runs must use simulated or package-shipped data; run with MODE='full' to download."
        )
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise NetworkBlockedError(f"smoke mode is offline: a connection to {address!r} was blocked.")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not _is_local((host,)):
        raise NetworkBlockedError(
            f"smoke mode is offline: a name lookup for {host!r} was blocked. "
            "Smoke runs must use simulated or package-shipped data; run with MODE='full' to download."
        )
    return _real_getaddrinfo(host, *args, **kwargs)


def block_network(enabled: bool = True) -> None:
    """Make every non-local socket connection and name lookup raise :class:`NetworkBlockedError`.

    Local connections (localhost, Unix sockets) stay open: the Jupyter kernel talks to its client
    through them.
    """
    if enabled:
        socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    else:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = _real_getaddrinfo  # type: ignore[assignment]


_FREEZE_REGISTERED = False


def _freeze_heap_at_exit() -> None:
    """At interpreter exit, move every live object to the garbage collector's permanent generation.

    With torch, matplotlib and a run's tensors loaded, the cyclic collections of interpreter shutdown walk the
    whole heap: measured on 2 cores, a papermill kernel then took 2.1-2.5 s to exit after the last cell, 0.4 s
    with the heap frozen (every notebook run pays it, CI and the smoke budget included). Nothing is skipped that
    a run needs: ``atexit`` handlers (the scratch folders' removal) still run, objects still free by reference
    count; only reference cycles alive at exit are not collected, which Python does not promise to finalise
    anyway. Registered once per process.
    """
    global _FREEZE_REGISTERED
    if _FREEZE_REGISTERED:
        return
    import atexit
    import gc

    atexit.register(gc.freeze)
    _FREEZE_REGISTERED = True


def setup(
    paper: str,
    mode: str = "smoke",
    seed: int = 0,
    device: str = "auto",
    data_dir: str | os.PathLike[str] | None = None,
    budget_s: float | None = None,
    threads: int | None = None,
) -> RunConfig:
    """Configure a notebook run and return its :class:`RunConfig`.

    Args:
        paper: the paper id in ``papers.yaml`` (names the reproduction record).
        mode: ``"smoke"`` (offline, CPU, seconds) or ``"full"`` (real data, GPU when present).
        seed: seeds Python, numpy and torch; the same seed gives the same recorded metrics on CPU.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``...; smoke mode always uses the CPU.
        data_dir: full mode: the folder that holds the dataset, read only (never created or written to);
            ``None`` uses the download cache (``MEDREPRO_DATA``).
        budget_s: a wall-clock budget in seconds that training loops honour (``None``: no limit).
        threads: torch intra-op threads; smoke mode: ``SMOKE_THREADS`` (1; see its comment) for torch and
            BLAS alike, so that its numbers match CI's and the seed records'; full mode: ``$OMP_NUM_THREADS`` or 2.

    Raises:
        ValueError: for an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    import torch

    if mode == "smoke":
        # Smoke numbers are reproducible bit for bit only at a fixed thread count (the order of floating-point
        # sums changes with it, and training amplifies the last bit): CI, the seed records and every reader's
        # run use the same count for torch and for numpy's BLAS, whatever $OMP_NUM_THREADS says.
        n_threads = threads or SMOKE_THREADS
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n_threads)  # BLAS/OpenMP pools already loaded (numpy's OpenBLAS, torch's)
    else:
        n_threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or min(2, os.cpu_count() or 1)
    torch.set_num_threads(n_threads)
    seed_everything(seed)
    dev = torch.device("cpu") if mode == "smoke" else pick_device(device)
    block_network(mode == "smoke")
    import warnings

    warnings.filterwarnings("ignore", message=".*Kernel is running over TCP.*")
    _freeze_heap_at_exit()
    return RunConfig(
        paper=paper, mode=mode, seed=seed, device=dev,
        data_dir=Path(data_dir).expanduser() if data_dir else None,
        budget_s=budget_s, threads=n_threads,
    )
