"""fetch_resource against a local HTTP server on 127.0.0.1 (never any other address)."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import stat
import threading
from pathlib import Path

import pytest

from aprior_cli.fetch import FetchError, cache_root, fetch_resource
from aprior_cli.manifests import Manifest

PAYLOAD = b"gene1\tgene2\t0.9\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class LocalServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1 and counts requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def loopback_only(monkeypatch):
    """No proxies (so requests go straight to 127.0.0.1) and no inherited cache settings."""
    for var in ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("APRIOR_DATA_DIR", raising=False)


@pytest.fixture
def server(loopback_only):
    srv = LocalServer()
    srv.files["/net.tsv.gz"] = PAYLOAD
    yield srv
    srv.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manifest(url: str, sha256: str | None = PAYLOAD_SHA, name: str = "net") -> Manifest:
    return Manifest(name=name, url=url, sha256=sha256, size=len(PAYLOAD), licence="CC0",
                    citation="test", description="test file", filename="net.tsv.gz",
                    path=Path("net.yaml"))


def cache_files(cache: Path) -> list[str]:
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())


def test_download_verifies_caches_and_is_group_readable(server, tmp_path):
    cache = tmp_path / "cache"
    result = fetch_resource(manifest(server.url + "/net.tsv.gz"), cache_dir=cache)
    assert result.path == cache / "net" / "net.tsv.gz"
    assert result.path.read_bytes() == PAYLOAD
    assert result.verified and result.downloaded and result.sha256 == PAYLOAD_SHA
    assert result.path.stat().st_mode & stat.S_IRGRP
    assert (cache / "net").stat().st_mode & (stat.S_IRGRP | stat.S_IXGRP) == \
        stat.S_IRGRP | stat.S_IXGRP
    assert cache_files(cache) == ["net/net.tsv.gz"]                  # no temporary left over
    again = fetch_resource(manifest(server.url + "/net.tsv.gz"), cache_dir=cache)
    assert again.path == result.path and not again.downloaded
    assert server.requests == ["/net.tsv.gz"]                       # second call: no request


def test_wrong_hash_keeps_nothing(server, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match="does not match the manifest") as info:
        fetch_resource(manifest(server.url + "/net.tsv.gz", sha256="0" * 64), cache_dir=cache)
    assert PAYLOAD_SHA in str(info.value) and "\n" not in str(info.value)
    assert cache_files(cache) == []


def test_stale_cached_file_is_replaced_or_removed(server, tmp_path):
    cache = tmp_path / "cache"
    stale = cache / "net" / "net.tsv.gz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"truncated")
    result = fetch_resource(manifest(server.url + "/net.tsv.gz"), cache_dir=cache)
    assert result.path.read_bytes() == PAYLOAD and result.downloaded
    # the server now serves something else: the error removes the stale cached copy too
    stale.write_bytes(b"truncated")
    server.files["/net.tsv.gz"] = b"changed upstream"
    with pytest.raises(FetchError, match="does not match"):
        fetch_resource(manifest(server.url + "/net.tsv.gz"), cache_dir=cache)
    assert cache_files(cache) == []


def test_offline_uses_only_the_cache(server, tmp_path):
    cache = tmp_path / "cache"
    m = manifest(server.url + "/net.tsv.gz")
    with pytest.raises(FetchError, match="not in the cache .*--offline"):
        fetch_resource(m, cache_dir=cache, offline=True)
    fetch_resource(m, cache_dir=cache)
    result = fetch_resource(m, cache_dir=cache, offline=True)
    assert result.path.read_bytes() == PAYLOAD and result.verified
    (cache / "net" / "net.tsv.gz").write_bytes(b"corrupt")
    with pytest.raises(FetchError, match="cached file .* has sha256"):
        fetch_resource(m, cache_dir=cache, offline=True)
    assert server.requests == ["/net.tsv.gz"]


def test_connection_refused_is_a_network_error(loopback_only, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/net.tsv.gz"
    with pytest.raises(FetchError, match=r"cannot download .* \(network: Connection refused\)"):
        fetch_resource(manifest(url), cache_dir=tmp_path / "cache")
    assert cache_files(tmp_path / "cache") == []


def test_http_error_names_the_status(server, tmp_path):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_resource(manifest(server.url + "/missing.gz"), cache_dir=tmp_path / "c")


def test_unverified_needs_permission_then_reports_hash(server, tmp_path):
    m = manifest(server.url + "/net.tsv.gz", sha256=None)
    with pytest.raises(FetchError, match="no sha256.*--allow-unverified"):
        fetch_resource(m, cache_dir=tmp_path / "c")
    assert server.requests == []                                  # refused before downloading
    result = fetch_resource(m, cache_dir=tmp_path / "c", allow_unverified=True)
    assert not result.verified and result.sha256 == PAYLOAD_SHA


def test_cache_root_order(tmp_path, monkeypatch):
    monkeypatch.setenv("APRIOR_DATA_DIR", str(tmp_path / "env"))
    assert cache_root(tmp_path / "opt") == tmp_path / "opt"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv("APRIOR_DATA_DIR")
    assert cache_root().name == "aprior" and os.path.isabs(cache_root())


@pytest.mark.parametrize(("exc", "expected"), [
    ("dns", "(network: Temporary failure in name"),
    ("timeout", "(network: timed out)"),
    ("ftp", "(network: 530 Login incorrect"),
    ("socket", "(network: Network is unreachable)"),
])
def test_network_failures_without_a_network(tmp_path, monkeypatch, exc, expected):
    # the no-network cases that cannot be produced on loopback, raised by a stand-in downloader
    import ftplib

    import requests

    errors = {
        "dns": requests.exceptions.ConnectionError(
            "HTTPSConnectionPool(host='example.org', port=443): Max retries exceeded "
            "(Caused by NameResolutionError: [Errno -3] Temporary failure in name resolution)"),
        "timeout": requests.exceptions.ReadTimeout("Read timed out. (read timeout=60)"),
        "ftp": ftplib.error_perm("530 Login incorrect."),
        "socket": OSError(101, "Network is unreachable"),
    }

    def failing_downloader(url, output_file, pooch_obj):
        raise errors[exc]

    monkeypatch.setattr("aprior_cli.fetch._downloader", lambda url, progressbar: failing_downloader)
    with pytest.raises(FetchError) as info:
        fetch_resource(manifest("http://127.0.0.1:9/net.tsv.gz"), cache_dir=tmp_path / "c")
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert "cannot download http://127.0.0.1:9/net.tsv.gz" in str(info.value)
    assert cache_files(tmp_path / "c") == []
