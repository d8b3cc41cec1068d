"""Show the package's code inside a notebook, so the idea stays visible where the code lives in medrepro."""
from __future__ import annotations

import inspect
import re
from typing import Any


def show_code(*objects: Any, docstring: bool = False) -> None:
    """Print the source of functions or classes, by default without their docstrings.

    Used where a notebook's core computation lives in the package (written once) but the student should
    still read it beside the equations.
    """
    for obj in objects:
        src = inspect.getsource(obj)
        if not docstring:
            src = re.sub(r'\n\s*"""[\s\S]*?"""', "", src, count=1)
        print(src)
