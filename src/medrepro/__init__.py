"""medrepro — helpers for executable, honest reproductions of medical-AI papers.

The package is imported lazily: ``import medrepro`` loads only this file, and each submodule
(``medrepro.report``, ``medrepro.data.io``, ...) is imported on first use, so a notebook pays only
for what it touches.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_SUBMODULES = {
    "config", "papers", "report", "train", "losses", "viz", "cli", "data", "sim", "nn", "metrics",
    "paths", "bench", "measure", "timefreq", "segmentation", "morph", "runner", "book",
}

if TYPE_CHECKING:  # pragma: no cover
    from .config import RunConfig, setup  # noqa: F401
    from .paths import scratch_dir  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in {"setup", "RunConfig"}:
        return getattr(importlib.import_module(f"{__name__}.config"), name)
    if name == "scratch_dir":
        return importlib.import_module(f"{__name__}.paths").scratch_dir
    raise AttributeError(f"module 'medrepro' has no attribute {name!r}")


__all__ = sorted(_SUBMODULES | {"setup", "RunConfig", "scratch_dir", "__version__"})
