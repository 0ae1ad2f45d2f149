"""A dataset origin on loopback: files written by a test are served over HTTP from 127.0.0.1,
the loaders' origins point at it, and the Keras cache ($KERAS_HOME) is a fresh folder."""

import functools
import hashlib
import http.server
import threading
import types

import pytest

from symkeras.datasets import origins


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):          # keep test output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def origin(tmp_path, monkeypatch):
    root = tmp_path / "origin"
    root.mkdir()
    home = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setattr(origins, "TF_KERAS_DATASETS", base)
    monkeypatch.setattr(origins, "CIFAR", base)

    def publish(name, data, subdir=""):
        folder = root / subdir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        monkeypatch.setitem(origins.FILE_HASHES, name, hashlib.sha256(data).hexdigest())

    try:
        yield types.SimpleNamespace(publish=publish, home=home, requests=server.requests, base=base)
    finally:
        server.shutdown()
        server.server_close()
