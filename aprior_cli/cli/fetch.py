"""``aprior fetch NAME``: download, verify and cache an external resource from data_manifests.

stdout gets only the cached file's path (``GTF=$(aprior fetch gencode_human_v44_gtf)``); what
happened (downloaded / cached, verified / not) goes to stderr.
"""

from __future__ import annotations

import click

from aprior_cli.cli.common import Command, handle_errors, log, verbosity_options
from aprior_cli.fetch import DATA_DIR_ENV, cached_file, fetch_resource
from aprior_cli.io.outputs import check_outputs
from aprior_cli.manifests import MANIFEST_DIR_ENV, get_manifest, load_manifests


def _size_text(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


@click.command("fetch", cls=Command)
@click.argument("name", required=False)
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar=DATA_DIR_ENV,
              help=f"Cache folder [default: ${DATA_DIR_ENV}, else the user cache folder].")
@click.option("--offline", is_flag=True,
              help="Do not download: print the cached file if present and its hash is right.")
@click.option("--allow-unverified", is_flag=True,
              help="Accept a manifest without sha256 (prints the hash it computed).")
@click.option("--list", "list_", is_flag=True, help="List the known resources and exit.")
@click.option("--manifest-dir", type=click.Path(file_okay=False), envvar=MANIFEST_DIR_ENV,
              help=f"Folder of manifest YAMLs [default: ${MANIFEST_DIR_ENV}, else the packaged "
                   "data_manifests].")
@verbosity_options
@handle_errors
def command(name: str | None, cache_dir: str | None, offline: bool, allow_unverified: bool,
            list_: bool, manifest_dir: str | None, verbose: int, quiet: bool) -> None:
    """Download NAME (a manifest in data_manifests/), check its SHA-256 and cache it.

    Prints the path of the cached file. A second call uses the cache without contacting the
    server. Manifests whose sha256 is null need --allow-unverified.

    \b
    Examples:
      aprior fetch --list
      aprior fetch msigdb_hallmark_v2023_2_symbols --allow-unverified
      APRIOR_DATA_DIR=/shared/aprior-cache aprior fetch gencode_human_v44_gtf --offline
    """
    if list_:
        manifests = load_manifests(manifest_dir)
        width = max((len(n) for n in manifests), default=4)
        for m in manifests.values():
            status = "sha256" if m.sha256 else "unverified"
            click.echo(f"{m.name:<{width}}  {_size_text(m.size):>8}  {status:<10}  "
                       f"{m.description[:70]}")
        return
    if not name:
        raise click.UsageError("give a resource NAME, or --list to see them")
    manifest = get_manifest(name, manifest_dir)
    check_outputs({"--cache-dir": cached_file(manifest, cache_dir)}, inputs=[manifest.path])
    result = fetch_resource(manifest, cache_dir=cache_dir, offline=offline,
                            allow_unverified=allow_unverified)
    how = "downloaded" if result.downloaded else "cached"
    if result.verified:
        log.info("%s: %s, sha256 verified", name, how)
    else:
        log.warning("%s: %s but NOT verified (the manifest has no sha256); sha256 of the file: "
                    "%s — add it to %s to pin this version", name, how, result.sha256,
                    manifest.path)
    click.echo(str(result.path))
