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
