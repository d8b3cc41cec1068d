import socket
import urllib.request

import numpy as np
import pytest
import torch

import medrepro
from medrepro.config import NetworkBlockedError, block_network


def test_setup_seeds_and_cpu_in_smoke():
    cfg = medrepro.setup(paper="x", mode="smoke", seed=3)
    a = (np.random.rand(), torch.rand(1).item(), cfg.rng().random())
    cfg = medrepro.setup(paper="x", mode="smoke", seed=3)
    b = (np.random.rand(), torch.rand(1).item(), cfg.rng().random())
    assert a == b
    assert cfg.device.type == "cpu" and cfg.smoke and not cfg.full
    block_network(False)


def test_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        medrepro.setup(paper="x", mode="fast")


def test_smoke_blocks_network_but_not_localhost(http_server):
    base, www = http_server
    (www / "f.txt").write_text("ok")
    medrepro.setup(paper="x", mode="smoke")
    try:
        with pytest.raises(NetworkBlockedError, match="offline"):
            socket.create_connection(("example.org", 80), timeout=1)
        with pytest.raises(NetworkBlockedError):
            socket.socket().connect(("93.184.216.34", 80))
        assert urllib.request.urlopen(base + "/f.txt", timeout=5).read() == b"ok"
    finally:
        block_network(False)


def test_full_mode_does_not_block():
    medrepro.setup(paper="x", mode="full")
    assert socket.socket.connect.__name__ == "connect"


def test_scratch_dir_is_fresh_and_removed_when_the_process_exits(tmp_path):
    import subprocess
    import sys

    code = ("import medrepro; d = medrepro.scratch_dir('probe-'); (d / 'f.txt').write_text('x'); print(d)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    from pathlib import Path

    assert Path(out).name.startswith("probe-") and not Path(out).exists()


def test_setup_freezes_the_heap_at_exit_and_cleanup_still_runs():
    """setup() registers gc.freeze at exit (a fast kernel shutdown); the scratch folders made after setup and a
    TemporaryDirectory are still removed, and a file written with `with` is complete."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import atexit, gc, tempfile, medrepro\n"
        "medrepro.setup(paper='x', mode='smoke'); medrepro.setup(paper='x', mode='smoke')\n"
        "from medrepro import config\n"
        "assert config._FREEZE_REGISTERED\n"
        "d = medrepro.scratch_dir('probe-'); (d / 'f.txt').write_text('x')\n"
        "t = tempfile.TemporaryDirectory(prefix='probe-td-')\n"
        "cycle = []; cycle.append(cycle)\n"
        "print(d); print(t.name)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == 2 and not any(Path(p).exists() for p in out)


def test_setup_registers_the_freeze_once(monkeypatch):
    import atexit
    import gc

    from medrepro import config

    registered = []
    monkeypatch.setattr(config, "_FREEZE_REGISTERED", False)
    monkeypatch.setattr(atexit, "register", lambda fn, *a, **k: registered.append(fn))
    medrepro.setup(paper="x", mode="smoke")
    medrepro.setup(paper="x", mode="smoke")
    block_network(False)
    assert registered == [gc.freeze]
