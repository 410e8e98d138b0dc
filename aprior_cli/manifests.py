"""Data manifests: one YAML per external resource (``data_manifests/<name>.yaml``).

Where manifests are looked up, first match wins:

1. an explicit directory (``aprior fetch --manifest-dir`` or ``$APRIOR_MANIFEST_DIR``);
2. the package's ``aprior_cli/data/manifests`` — in a source checkout a symbolic link to the
   top-level ``data_manifests/`` folder (the single source of truth), in an installed wheel a copy
   of it;
3. ``<repository>/data_manifests`` beside the package (checkouts where the link is not a link,
   e.g. Windows without symlink support).

Every manifest is validated against ``schema.json`` (JSON Schema) from the same folder set.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

from aprior_cli.errors import UserInputError

MANIFEST_DIR_ENV = "APRIOR_MANIFEST_DIR"
REQUIRED_FIELDS = ("name", "url", "sha256", "size", "licence", "citation", "description")


@dataclass(frozen=True)
class Manifest:
    """One external resource.

    Attributes
    ----------
    name
        Identifier (``aprior fetch NAME``), equal to the YAML file's stem.
    url
        Download address.
    sha256
        Expected SHA-256 (lower-case hex), or ``None`` when not known yet.
    size
        Expected size in bytes, or ``None``.
    licence, citation, description
        Free text.
    filename
        Name of the file in the cache.
    path
        The YAML file this manifest was read from.
    extra
        Optional fields (``format``, ``version``, ``homepage``).
    """

    name: str
    url: str
    sha256: str | None
    size: int | None
    licence: str
    citation: str
    description: str
    filename: str
    path: Path
    extra: dict = field(default_factory=dict)


def packaged_manifest_dir() -> Path | None:
    """The manifests shipped with the package (or the checkout's ``data_manifests/``)."""
    candidate = Path(str(resources.files("aprior_cli") / "data" / "manifests"))
    if candidate.is_dir():
        return candidate.resolve()
    checkout = Path(__file__).resolve().parents[1] / "data_manifests"
    return checkout if checkout.is_dir() else None


def manifest_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the manifest directory: ``explicit``, ``$APRIOR_MANIFEST_DIR``, then packaged."""
    chosen = explicit or os.environ.get(MANIFEST_DIR_ENV)
    if chosen:
        path = Path(chosen)
        if not path.is_dir():
            raise UserInputError(f"{path}: manifest directory not found")
        return path
    path = packaged_manifest_dir()
    if path is None:
        raise UserInputError("no data manifests found: the package has no data/manifests folder; "
                             f"use --manifest-dir or ${MANIFEST_DIR_ENV}")
    return path


def load_schema(directory: Path | None = None) -> dict:
    """The manifest JSON Schema (``schema.json`` of ``directory``, else the packaged one)."""
    for folder in (directory, packaged_manifest_dir()):
        if folder is not None and (folder / "schema.json").is_file():
            return json.loads((folder / "schema.json").read_text())
    raise UserInputError("data manifest schema.json not found")


def validate_manifest(data: object, schema: dict, source: str) -> None:
    """Raise :class:`UserInputError` naming ``source`` and the field if ``data`` is invalid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise UserInputError(f"{source}: invalid manifest, field {where}: {err.message}")


def read_manifest(path: str | os.PathLike, schema: dict | None = None) -> Manifest:
    """Read and validate one manifest YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserInputError(f"{path}: not valid YAML ({first})") from exc
    validate_manifest(data, schema if schema is not None else load_schema(path.parent), str(path))
    if data["name"] != path.stem:
        raise UserInputError(f"{path}: field name is {data['name']!r} but the file is "
                             f"{path.name}; they must match")
    filename = data.get("filename") or unquote(Path(urlparse(data["url"]).path).name) or data["name"]
    extra = {k: v for k, v in data.items() if k not in REQUIRED_FIELDS and k != "filename"}
    return Manifest(name=data["name"], url=data["url"], sha256=data["sha256"], size=data["size"],
                    licence=" ".join(str(data["licence"]).split()),
                    citation=" ".join(str(data["citation"]).split()),
                    description=" ".join(str(data["description"]).split()),
                    filename=filename, path=path, extra=extra)


def manifest_names(directory: Path) -> list[str]:
    """Names of the manifests in ``directory`` (sorted)."""
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_manifests(directory: str | os.PathLike | None = None) -> dict[str, Manifest]:
    """Read and validate every ``*.yaml`` manifest of the resolved directory, by name."""
    folder = manifest_dir(directory)
    schema = load_schema(folder)
    return {name: read_manifest(folder / f"{name}.yaml", schema) for name in manifest_names(folder)}


def get_manifest(name: str, directory: str | os.PathLike | None = None) -> Manifest:
    """The manifest called ``name``; an unknown name lists the known ones."""
    folder = manifest_dir(directory)
    names = manifest_names(folder)
    if name not in names:
        known = ", ".join(names) if names else "(none)"
        raise UserInputError(f"unknown resource {name!r} (manifests in {folder}); known: {known}")
    return read_manifest(folder / f"{name}.yaml", load_schema(folder))
