"""The records' peak memory is the kernel's own, not inherited from the process that started it."""
import subprocess
import sys

import pytest

from medrepro.report import peak_memory_mb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_a_child_of_a_large_parent_reports_its_own_peak():
    big = bytearray(300 * 1024 * 1024)
    big[::4096] = b"\x01" * len(big[::4096])                     # touch every page: the parent is > 300 MB
    assert peak_memory_mb() > 300
    child = "from medrepro.report import peak_memory_mb; print(peak_memory_mb())"
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout
    assert float(out) < 250, out                                 # ru_maxrss would have said > 300 here
    del big
