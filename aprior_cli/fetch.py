"""Download, verify (SHA-256) and cache the files named by data manifests, via pooch.

Cache layout: ``<cache>/<manifest name>/<file name>``; ``<cache>`` is ``--cache-dir``, else
``$APRIOR_DATA_DIR``, else the user cache folder ``pooch.os_cache("aprior")``. Files and the
folders aprior creates are made group-readable so a lab can share one cache on a cluster.

pooch downloads into a temporary file beside the target and renames it only when the hash
matches, so a failed or corrupt download never leaves a file under the final name; a cached file
whose hash no longer matches is removed when the fresh download fails too.

Safety in a shared cache: the cached path must resolve inside ``<cache>/<manifest name>/``
(names are also checked when manifests are read, :func:`aprior_cli.manifests.safe_filename`).
A download holds a lock on that resource (``<cache>/.<name>.lock``, ``flock``): a second
``aprior fetch`` of the same resource waits for it and then finds the file cached, and the
temporary files a killed download left (pooch's ``tmpXXXXXXXX``) are removed by the next fetch
of that resource, under the lock, so a live download is never broken.
"""

from __future__ import annotations

import ftplib
import logging
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import pooch

from aprior_cli.errors import UserInputError
from aprior_cli.io.locks import OutputLock
from aprior_cli.manifests import Manifest, safe_filename

DATA_DIR_ENV = "APRIOR_DATA_DIR"
HTTP_TIMEOUT_S = 60

log = logging.getLogger("aprior")


class FetchError(UserInputError):
    """A resource could not be provided (network, checksum, cache, unverified)."""


@dataclass(frozen=True)
class FetchResult:
    """Outcome of :func:`fetch_resource`.

    Attributes
    ----------
    path
        The cached file.
    sha256
        Its SHA-256 (hex).
    verified
        True when it was checked against the manifest's ``sha256``.
    downloaded
        True when this call downloaded it (False: it was already cached).
    """

    path: Path
    sha256: str
    verified: bool
    downloaded: bool


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$APRIOR_DATA_DIR``, else pooch's user cache folder for aprior."""
    chosen = cache_dir or os.environ.get(DATA_DIR_ENV)
    return Path(chosen).expanduser() if chosen else Path(pooch.os_cache("aprior"))


def cached_file(manifest: Manifest, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where ``manifest``'s file lives in the cache (refused if it would resolve elsewhere)."""
    folder = cache_root(cache_dir) / safe_filename(manifest.name, str(manifest.path), "name")
    target = folder / safe_filename(manifest.filename, str(manifest.path))
    resolved, inside = target.resolve(), folder.resolve()
    if resolved.parent != inside:
        raise FetchError(f"{manifest.path}: the cache file {target} would resolve to {resolved}, "
                         f"outside the cache folder {inside}; refusing to write it")
    return target


#: pooch's temporary download files (tempfile.NamedTemporaryFile: "tmp" + 8 characters)
_POOCH_TEMP = re.compile(r"^tmp[a-z0-9_]{8}$")


def remove_stale_downloads(folder: Path) -> list[Path]:
    """Remove temporary files a killed download left in a resource's cache folder.

    Call only while holding the resource's lock (no live download is then writing there).
    """
    removed = []
    if folder.is_dir():
        for entry in folder.iterdir():
            if _POOCH_TEMP.match(entry.name) and entry.is_file():
                try:
                    entry.unlink()
                except OSError:  # a colleague's file in a shared cache: leave it
                    continue
                removed.append(entry)
    if removed:
        log.info("%s: removed %d temporary file(s) of an interrupted earlier download",
                 folder, len(removed))
    return removed


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file, read in chunks."""
    return pooch.file_hash(str(path), alg="sha256")


def make_group_readable(path: Path) -> None:
    """Add group read (and, for folders, search) permission; ignore files we do not own."""
    extra = stat.S_IRGRP | (stat.S_IXGRP if path.is_dir() else 0)
    try:
        mode = path.stat().st_mode
        if mode & extra != extra:
            path.chmod(mode | extra)
    except PermissionError:  # a shared cache file owned by a colleague
        log.debug("cannot change permissions of %s (not the owner)", path)


def fetch_resource(manifest: Manifest, cache_dir: str | os.PathLike | None = None,
                   offline: bool = False, allow_unverified: bool = False,
                   progressbar: bool | None = None) -> FetchResult:
    """Return the verified cached file of ``manifest``, downloading it unless ``offline``.

    Parameters
    ----------
    manifest
        The resource.
    cache_dir
        Cache root (see :func:`cache_root`).
    offline
        Only look in the cache: the file must be there (and match ``sha256`` when known).
    allow_unverified
        Accept a manifest without ``sha256`` (the computed hash is returned).
    progressbar
        Show a download bar; default: only when stderr is a terminal.

    Raises
    ------
    FetchError
        No network, HTTP error, checksum mismatch, missing cache entry, or an unverifiable
        manifest without ``allow_unverified``; the message is one line.
    """
    if manifest.sha256 is None and not allow_unverified:
        raise FetchError(
            f"{manifest.name}: the manifest ({manifest.path}) has no sha256, so the file cannot be "
            "verified; rerun with --allow-unverified (the computed sha256 is then printed so you "
            "can add it to the manifest)")
    target = cached_file(manifest, cache_dir)
    if offline:
        return _from_cache(manifest, target)
    if progressbar is None:
        progressbar = sys.stderr.isatty()
    known_hash = f"sha256:{manifest.sha256}" if manifest.sha256 else None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"{target.parent}: cannot create the cache folder ({exc.strerror})") from exc
    for folder in (target.parent.parent, target.parent):
        make_group_readable(folder)
    with OutputLock(target.parent, wait=True):
        existed = target.is_file()           # a concurrent fetch we waited for may have it
        remove_stale_downloads(target.parent)
        return _download(manifest, target, known_hash, progressbar, existed)


def _download(manifest: Manifest, target: Path, known_hash: str | None, progressbar: bool,
              existed: bool) -> FetchResult:
    """pooch.retrieve into ``target`` (under the resource's lock) and check the result."""
    before = _stat_key(target)
    if not existed:
        log.info("%s: downloading %s into %s", manifest.name, manifest.url, target.parent)
    pooch_log = pooch.get_logger()
    level = pooch_log.level
    pooch_log.setLevel(logging.WARNING)       # aprior says what happens, once
    try:
        path = Path(pooch.retrieve(manifest.url, known_hash=known_hash, fname=target.name,
                                   path=target.parent, progressbar=progressbar,
                                   downloader=_downloader(manifest.url, progressbar)))
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        _remove_if_mismatched(target, manifest.sha256)
        raise FetchError(f"{manifest.name}: sha256 of the file downloaded from {manifest.url} "
                         f"{_got_hash(str(exc))}does not match the manifest ({manifest.sha256}); "
                         "nothing was kept in the cache") from None
    except Exception as exc:
        _raise_download_error(manifest, exc)
        raise
    finally:
        pooch_log.setLevel(level)
    make_group_readable(path)
    downloaded = not existed or _stat_key(path) != before
    digest = manifest.sha256 if manifest.sha256 else sha256_of(path)
    if manifest.size is not None and path.stat().st_size != manifest.size:
        log.warning("%s: %s has %d bytes, the manifest says %d", manifest.name, path,
                    path.stat().st_size, manifest.size)
    return FetchResult(path=path, sha256=digest, verified=manifest.sha256 is not None,
                       downloaded=downloaded)


def _from_cache(manifest: Manifest, target: Path) -> FetchResult:
    if not target.is_file():
        raise FetchError(f"{manifest.name}: not in the cache ({target}) and --offline was given; "
                         "run 'aprior fetch' with network access first, or set --cache-dir / "
                         f"${DATA_DIR_ENV} to the shared cache")
    digest = sha256_of(target)
    if manifest.sha256 is not None and digest != manifest.sha256:
        raise FetchError(f"{manifest.name}: the cached file {target} has sha256 {digest}, the "
                         f"manifest says {manifest.sha256}; delete it and fetch again")
    return FetchResult(path=target, sha256=digest, verified=manifest.sha256 is not None,
                       downloaded=False)


def _downloader(url: str, progressbar: bool):
    if url.startswith(("http://", "https://")):
        return pooch.HTTPDownloader(progressbar=progressbar, timeout=HTTP_TIMEOUT_S)
    return pooch.downloaders.choose_downloader(url, progressbar=progressbar)


def _stat_key(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _remove_if_mismatched(target: Path, sha256: str | None) -> None:
    if sha256 and target.is_file() and sha256_of(target) != sha256:
        try:
            target.unlink()
        except OSError:
            log.warning("could not remove the stale cached file %s", target)


def _got_hash(message: str) -> str:
    """``"(sha256 X) "`` from pooch's mismatch message, or ``""``."""
    marker = "got "
    if marker in message:
        value = message.split(marker, 1)[1].split()[0].rstrip(".,")
        return f"({value}) "
    return ""


def _raise_download_error(manifest: Manifest, exc: BaseException) -> None:
    """Turn network/HTTP errors into a one-line :class:`FetchError` (others pass through)."""
    import requests

    where = f"{manifest.name}: cannot download {manifest.url}"
    if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
        raise FetchError(f"{where}: HTTP {exc.response.status_code} "
                         f"{exc.response.reason or ''}".rstrip()) from None
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        raise FetchError(f"{where} (network: {_short_reason(exc)}); check the connection or use "
                         "--offline with a filled cache") from None
    if isinstance(exc, requests.exceptions.RequestException):
        raise FetchError(f"{where} ({type(exc).__name__}: {_short_reason(exc)})") from None
    if isinstance(exc, (ftplib.Error, ConnectionError, TimeoutError)) or (
            isinstance(exc, OSError) and not isinstance(exc, PermissionError)
            and exc.filename is None):
        raise FetchError(f"{where} (network: {_short_reason(exc)})") from None
    if isinstance(exc, OSError):
        raise FetchError(f"{exc.filename or manifest.name}: {exc.strerror or exc}") from None


def _short_reason(exc: BaseException) -> str:
    """The innermost, most specific reason of a (nested) connection error, on one line."""
    text = str(exc)
    for key in ("Connection refused", "Name or service not known", "Temporary failure in name",
                "timed out", "Network is unreachable", "No route to host",
                "nodename nor servname"):
        if key in text:
            return key
    return " ".join(text.split())[:160] or type(exc).__name__
