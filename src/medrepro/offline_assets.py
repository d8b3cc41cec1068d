"""Make the built book work without the internet: serve MathJax (and other scripts) from the site itself."""
from __future__ import annotations

from pathlib import Path


def make_offline(html_dir: Path) -> None:
    """Placeholder-free hook: implemented by the offline-book work; does nothing until then."""
    return None
