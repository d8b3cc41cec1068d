"""Shared fixtures. Tests never reach the internet; downloads are served from localhost."""
from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def http_server(tmp_path):
    """Serve ``tmp_path/www`` on localhost; yields (base_url, folder). ``/truncated/<name>`` lies about its length."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            if self.path.startswith("/truncated/"):
                data = (www / self.path.split("/")[-1]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data) * 2))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", www
    server.shutdown()
