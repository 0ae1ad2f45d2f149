"""get_file over real HTTP on loopback: the cache location, hash checks, atomic placement,
re-download of a stale file, tar and zip extraction that never leaves the folder, and the
error that says where to put a file by hand when there is no network."""

import functools
import hashlib
import http.server
import io
import os
import socket
import tarfile
import threading
import zipfile

import pytest

from symkeras.utils import get_file
from symkeras.utils.data_utils import DownloadError, extract_archive, hash_file, validate_file


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path, monkeypatch):
    root = tmp_path / "origin"
    root.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.requests, httpd.root = [], root
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, symbolic=True):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE if symbolic else tarfile.LNKTYPE
    info.linkname = target
    return info, None


DATA = b"0123456789" * 1000


def test_download_into_the_keras_cache_with_a_sha256_check(server, tmp_path):
    (server.root / "data.bin").write_bytes(DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    path = get_file("data.bin", server.url + "data.bin", file_hash=digest)
    assert path == str(tmp_path / "home" / "datasets" / "data.bin")
    assert open(path, "rb").read() == DATA
    assert validate_file(path, digest) and hash_file(path) == digest
    assert get_file("data.bin", server.url + "data.bin", file_hash=digest) == path
    assert server.requests == ["/data.bin"]                     # the second call used the cache
    assert os.listdir(tmp_path / "home" / "datasets") == ["data.bin"]     # no temporary file left


def test_fname_from_origin_cache_dir_subdir_and_md5(server, tmp_path):
    (server.root / "words.txt").write_bytes(b"abc")
    path = get_file(origin=server.url + "words.txt", cache_dir=tmp_path / "cache", cache_subdir="text",
                    md5_hash="900150983cd24fb0d6963f7d28e17f72")
    assert path == str(tmp_path / "cache" / "text" / "words.txt")
    assert validate_file(path, "900150983cd24fb0d6963f7d28e17f72", algorithm="md5")
    assert hash_file(path, "md5") == "900150983cd24fb0d6963f7d28e17f72"


def test_a_corrupted_download_never_lands_in_place(server, tmp_path):
    (server.root / "data.bin").write_bytes(DATA)
    with pytest.raises(ValueError, match="sha256 file hash does not match the provided value of " + "0" * 64):
        get_file("data.bin", server.url + "data.bin", file_hash="0" * 64)
    assert os.listdir(tmp_path / "home" / "datasets") == []


def test_a_stale_cached_file_is_downloaded_again(server, tmp_path, capsys):
    folder = tmp_path / "home" / "datasets"
    folder.mkdir(parents=True)
    (folder / "data.bin").write_bytes(b"old")
    (server.root / "data.bin").write_bytes(DATA)
    path = get_file("data.bin", server.url + "data.bin", file_hash=hashlib.sha256(DATA).hexdigest())
    assert open(path, "rb").read() == DATA
    assert "will re-download the data" in capsys.readouterr().out
    (folder / "data.bin").write_bytes(b"kept")                  # no hash: what is there is used
    assert open(get_file("data.bin", server.url + "data.bin"), "rb").read() == b"kept"


def test_untar_and_extract(server, tmp_path):
    archive = _tar_gz([_file("pack/a.txt", b"A"), _file("pack/sub/b.txt", b"B")])
    (server.root / "pack.tar.gz").write_bytes(archive)
    path = get_file("pack", server.url + "pack.tar.gz", untar=True, file_hash=hashlib.sha256(archive).hexdigest())
    assert path == str(tmp_path / "home" / "datasets" / "pack")
    assert open(os.path.join(path, "sub", "b.txt"), "rb").read() == b"B"
    assert sorted(os.listdir(tmp_path / "home" / "datasets")) == ["pack", "pack.tar.gz"]

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("z/one.txt", "1")
    (server.root / "z.zip").write_bytes(buffer.getvalue())
    path = get_file("z.zip", server.url + "z.zip", extract=True, cache_subdir="zips")
    assert path == str(tmp_path / "home" / "zips" / "z.zip")
    assert open(tmp_path / "home" / "zips" / "z" / "one.txt").read() == "1"


def test_extraction_skips_members_that_leave_the_folder(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    archive.write_bytes(_tar_gz([_file("../escaped.txt", b"x"), _file("/abs.txt", b"x"),
                                 _link("out", "/etc/passwd"), _link("hard", "../../x", symbolic=False),
                                 _file("ok/fine.txt", b"fine")]))
    target = tmp_path / "into"
    with pytest.warns(UserWarning, match="Skipping invalid path during archive extraction") as caught:
        assert extract_archive(str(archive), str(target))
    assert len(caught) == 4
    assert sorted(os.listdir(target)) == ["ok"] and not (tmp_path / "escaped.txt").exists()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("../../zipescape.txt", "x")
        zipped.writestr("in.txt", "y")
    (tmp_path / "evil.zip").write_bytes(buffer.getvalue())
    with pytest.warns(UserWarning, match="'../../zipescape.txt'"):
        assert extract_archive(str(tmp_path / "evil.zip"), str(target), archive_format="zip")
    assert sorted(os.listdir(target)) == ["in.txt", "ok"]
    assert not extract_archive(str(tmp_path / "evil.zip"), str(target), archive_format="tar")
    assert not extract_archive(str(tmp_path / "evil.zip"), str(target), archive_format=None)


def test_without_network_the_error_names_the_file_and_where_to_put_it(tmp_path):
    with socket.socket() as probe:                  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    origin = f"http://127.0.0.1:{port}/mnist.npz"
    with pytest.raises(DownloadError) as caught:
        get_file("mnist.npz", origin, cache_dir=tmp_path)
    message = str(caught.value)
    assert message.startswith(f"URL fetch failure on {origin}")
    assert f"download {origin} yourself and place it at {tmp_path / 'datasets' / 'mnist.npz'}" in message
    assert os.listdir(tmp_path / "datasets") == []


def test_http_errors_and_bad_arguments(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        get_file("missing.bin", server.url + "missing.bin")
    with pytest.raises(ValueError, match="origin"):
        get_file("x.bin")
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("x.bin", server.url + "x.bin", file_hash="0" * 64, hash_algorithm="sha1")
    with pytest.raises(TypeError, match="fname"):
        get_file(3, server.url + "x.bin")
    with pytest.raises(ValueError, match="archive_format"):
        extract_archive(str(tmp_path), str(tmp_path), archive_format="rar")
