"""``aprior fetch`` end to end against a local HTTP server on 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from aprior_cli.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = b"#gene sets\nSET1\tdesc\tA\tB\n" * 50
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy")


@pytest.fixture
def server(monkeypatch):
    """A loopback HTTP server serving /sets.gmt; records request paths."""
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in ("APRIOR_DATA_DIR", "APRIOR_MANIFEST_DIR"):
        monkeypatch.delenv(var, raising=False)
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            requests.append(self.path)
            if self.path != "/sets.gmt":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


def write_manifests(folder: Path, base_url: str) -> Path:
    """Manifests: good (hash), badhash, unverified (null), refused (closed port)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text((REPO / "data_manifests" / "schema.json").read_text())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    common = {"size": len(PAYLOAD), "licence": "CC0", "citation": "test",
              "description": "a gene-set file served on 127.0.0.1"}
    specs = {"good": (f"{base_url}/sets.gmt", PAYLOAD_SHA),
             "badhash": (f"{base_url}/sets.gmt", "f" * 64),
             "unverified": (f"{base_url}/sets.gmt", None),
             "refused": (f"http://127.0.0.1:{closed}/sets.gmt", PAYLOAD_SHA)}
    for name, (url, sha) in specs.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(
            {"name": name, "url": url, "sha256": sha, **common}))
    return folder


def fetch(*args: str):
    return CliRunner().invoke(cli, ["fetch", *args])


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1
    return lines[0]


def test_fetch_prints_path_and_second_call_uses_cache(server, tmp_path):
    url, requests = server
    mdir = write_manifests(tmp_path / "m", url)
    cache = tmp_path / "cache"
    first = fetch("good", "--manifest-dir", str(mdir), "--cache-dir", str(cache))
    assert first.exit_code == 0, first.output
    path = cache / "good" / "sets.gmt"
    assert str(path) in first.output and "verified" in first.output
    assert path.read_bytes() == PAYLOAD
    second = fetch("good", "--manifest-dir", str(mdir), "--cache-dir", str(cache))
    assert second.exit_code == 0 and "cached" in second.output
    assert requests == ["/sets.gmt"]


def test_env_vars_choose_cache_and_manifests(server, tmp_path, monkeypatch):
    url, _ = server
    monkeypatch.setenv("APRIOR_MANIFEST_DIR", str(write_manifests(tmp_path / "m", url)))
    monkeypatch.setenv("APRIOR_DATA_DIR", str(tmp_path / "shared"))
    result = fetch("good", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == str(tmp_path / "shared" / "good" / "sets.gmt")


def test_wrong_hash_is_one_line_and_leaves_no_file(server, tmp_path):
    url, _ = server
    mdir = write_manifests(tmp_path / "m", url)
    result = fetch("badhash", "--manifest-dir", str(mdir), "--cache-dir", str(tmp_path / "c"))
    line = one_line_error(result)
    assert "does not match the manifest" in line and PAYLOAD_SHA in line
    assert files_under(tmp_path / "c") == []


def test_unknown_name_lists_known(server, tmp_path):
    url, _ = server
    mdir = write_manifests(tmp_path / "m", url)
    line = one_line_error(fetch("nope", "--manifest-dir", str(mdir)))
    assert "unknown resource 'nope'" in line
    assert "badhash, good, refused, unverified" in line


def test_offline_with_empty_cache_then_filled(server, tmp_path):
    url, requests = server
    mdir = write_manifests(tmp_path / "m", url)
    args = ["good", "--manifest-dir", str(mdir), "--cache-dir", str(tmp_path / "c")]
    line = one_line_error(fetch(*args, "--offline"))
    assert "not in the cache" in line and "--offline" in line
    assert requests == []
    assert fetch(*args).exit_code == 0
    offline = fetch(*args, "--offline")
    assert offline.exit_code == 0 and "sets.gmt" in offline.output
    assert requests == ["/sets.gmt"]


def test_connection_refused_says_network(server, tmp_path):
    url, _ = server
    mdir = write_manifests(tmp_path / "m", url)
    line = one_line_error(fetch("refused", "--manifest-dir", str(mdir), "--cache-dir",
                                str(tmp_path / "c")))
    assert "cannot download http://127.0.0.1:" in line and "(network" in line
    assert files_under(tmp_path / "c") == []


def test_unverified_refused_then_allowed_with_hash(server, tmp_path):
    url, requests = server
    mdir = write_manifests(tmp_path / "m", url)
    args = ["unverified", "--manifest-dir", str(mdir), "--cache-dir", str(tmp_path / "c")]
    line = one_line_error(fetch(*args))
    assert "--allow-unverified" in line and requests == []
    allowed = fetch(*args, "--allow-unverified", "-q")            # the warning survives -q
    assert allowed.exit_code == 0, allowed.output
    assert "NOT verified" in allowed.output and PAYLOAD_SHA in allowed.output
    assert str(tmp_path / "c" / "unverified" / "sets.gmt") in allowed.output


def test_list_and_usage(server, tmp_path):
    url, _ = server
    mdir = write_manifests(tmp_path / "m", url)
    listing = fetch("--list", "--manifest-dir", str(mdir))
    assert listing.exit_code == 0
    rows = listing.output.strip().splitlines()
    assert [r.split()[0] for r in rows] == ["badhash", "good", "refused", "unverified"]
    assert "unverified" in rows[3] and "sha256" in rows[1]
    packaged = fetch("--list")
    assert packaged.exit_code == 0 and "humanbase_hematopoietic_stem_cell_top" in packaged.output
    usage = fetch()
    assert usage.exit_code == 2 and "--list" in usage.output


def test_invalid_manifest_is_one_line(tmp_path):
    mdir = tmp_path / "m"
    mdir.mkdir()
    (mdir / "schema.json").write_text((REPO / "data_manifests" / "schema.json").read_text())
    (mdir / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", "url": "http://127.0.0.1/x"}))
    line = one_line_error(fetch("bad", "--manifest-dir", str(mdir)))
    assert "bad.yaml" in line and "invalid manifest" in line
    assert one_line_error(fetch("x", "--manifest-dir", str(tmp_path / "absent")))


def test_real_subprocess(server, tmp_path):
    url, requests = server
    mdir = write_manifests(tmp_path / "m", url)
    env = {**os.environ, "APRIOR_MANIFEST_DIR": str(mdir), "APRIOR_DATA_DIR": str(tmp_path / "c")}
    ok = subprocess.run([sys.executable, "-m", "aprior_cli", "fetch", "good"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == str(tmp_path / "c" / "good" / "sets.gmt")   # stdout: the path only
    refused = subprocess.run([sys.executable, "-m", "aprior_cli", "fetch", "refused"],
                             capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 1 and refused.stdout == ""
    err = [line for line in refused.stderr.splitlines() if line.startswith("Error:")]
    assert len(err) == 1 and "(network" in err[0] and "Traceback" not in refused.stderr
    quiet = subprocess.run([sys.executable, "-m", "aprior_cli", "fetch", "refused", "-q"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 1 and quiet.stderr.strip() == err[0]       # -q: just the error
    assert requests == ["/sets.gmt"]


def evil_manifests(folder: Path, base_url: str, permissive_schema: bool = False) -> Path:
    """Manifests that try to write outside the cache (the reported ..%2F..%2Fpwned.txt)."""
    folder.mkdir(parents=True, exist_ok=True)
    schema = ({"type": "object"} if permissive_schema
              else json.loads((REPO / "data_manifests" / "schema.json").read_text()))
    (folder / "schema.json").write_text(json.dumps(schema))
    common = {"sha256": None, "size": None, "licence": "CC0", "citation": "test",
              "description": "an attempt to escape the cache"}
    specs = {"encoded": {"url": f"{base_url}/x/..%2F..%2Fpwned.txt"},
             "encoded_backslash": {"url": f"{base_url}/x/..%5C..%5Cpwned.txt"},
             "named": {"url": f"{base_url}/sets.gmt", "filename": "../../pwned.txt"},
             "absolute": {"url": f"{base_url}/sets.gmt", "filename": "/tmp/pwned.txt"},
             "nul": {"url": f"{base_url}/sets.gmt", "filename": "sets\x00.gmt"},
             "dotdot": {"url": f"{base_url}/sets.gmt", "filename": ".."}}
    for name, spec in specs.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **common, **spec}))
    return folder


@pytest.mark.parametrize("permissive", [False, True], ids=["packaged-schema",
                                                          "folder-schema-drops-rules"])
@pytest.mark.parametrize("name", ["encoded", "encoded_backslash", "named", "absolute", "nul",
                                  "dotdot"])
def test_fetch_names_are_confined_to_the_cache(server, tmp_path, name, permissive):
    """Nothing is downloaded and nothing is written outside (or inside) the cache, whatever
    the folder's own schema.json says: the packaged schema always applies."""
    url, requests = server
    mdir = evil_manifests(tmp_path / "deep" / "m", url, permissive)
    cache = tmp_path / "deep" / "cache"
    line = one_line_error(fetch(name, "--manifest-dir", str(mdir), "--cache-dir", str(cache),
                                "--allow-unverified"))
    assert f"{name}.yaml" in line and ("unsafe cache file name" in line
                                       or "invalid manifest" in line)
    assert requests == []
    assert not list(tmp_path.rglob("pwned*")) and not Path("/tmp/pwned.txt").exists()
    assert files_under(cache) == []


def test_a_folder_schema_can_add_rules(server, tmp_path):
    url, _ = server
    mdir = write_manifests(tmp_path / "m", url)
    schema = json.loads((mdir / "schema.json").read_text())
    schema["required"] = [*schema["required"], "version"]
    (mdir / "schema.json").write_text(json.dumps(schema))
    line = one_line_error(fetch("good", "--manifest-dir", str(mdir), "--cache-dir",
                                str(tmp_path / "c")))
    assert "good.yaml: invalid manifest" in line and "'version' is a required property" in line


def test_stale_download_temp_files_are_removed_under_the_lock(server, tmp_path, monkeypatch):
    """A killed download leaves pooch's tmpXXXXXXXX in the shared cache; the next fetch of that
    resource removes it while holding the resource's lock (a live download is never broken)."""
    import fcntl

    import aprior_cli.fetch as fetch_mod
    from aprior_cli.io.locks import lock_path_for

    url, _ = server
    mdir = write_manifests(tmp_path / "m", url)
    folder = tmp_path / "c" / "good"
    folder.mkdir(parents=True)
    stale = folder / "tmpk1ll3d_0"
    stale.write_bytes(b"\0" * 5000)
    other = folder / "tmp_not_pooch.txt"
    other.write_text("keep")
    seen = []
    real = fetch_mod.remove_stale_downloads

    def checked(path):
        fd = os.open(lock_path_for(path), os.O_RDONLY)     # the lock file is there ...
        try:
            with pytest.raises(BlockingIOError):           # ... and held
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        seen.append(path)
        return real(path)

    monkeypatch.setattr(fetch_mod, "remove_stale_downloads", checked)
    res = fetch("good", "--manifest-dir", str(mdir), "--cache-dir", str(tmp_path / "c"))
    assert res.exit_code == 0, res.output
    assert seen == [folder] and not stale.exists() and other.exists()
    assert sorted(p.name for p in folder.iterdir()) == ["sets.gmt", "tmp_not_pooch.txt"]
    assert not lock_path_for(folder).exists()
