"""Data manifests: one YAML per external resource (``data_manifests/<name>.yaml``).

Where manifests are looked up, first match wins:

1. an explicit directory (``aprior fetch --manifest-dir`` or ``$APRIOR_MANIFEST_DIR``);
2. the package's ``aprior_cli/data/manifests`` — in a source checkout a symbolic link to the
   top-level ``data_manifests/`` folder (the single source of truth), in an installed wheel a copy
   of it;
3. ``<repository>/data_manifests`` beside the package (checkouts where the link is not a link,
   e.g. Windows without symlink support).

Every manifest is validated against the **packaged** ``schema.json`` (JSON Schema), always; a
manifest folder may ship its own ``schema.json``, which is applied *as well*, so it can add rules
but never drop one (e.g. the ``filename`` rule).

The cache file name (``filename``, or the last part of the URL path, percent-decoded) must be a
plain file name: no ``/`` or ``\\``, no ``.`` or ``..``, not absolute, no NUL or control
characters, and no percent-encoded separator in the URL (``..%2F..%2Fpwned.txt``); see
:func:`safe_filename`. :func:`aprior_cli.fetch.fetch_resource` checks once more that the resolved
path lies inside the cache folder.
"""

from __future__ import annotations

import json
import os
import re
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


def _read_schema(path: Path) -> dict:
    from aprior_cli.io.files import read_text_file
    from aprior_cli.io.read_errors import reading

    with reading(path, "manifest schema"):
        schema = json.loads(read_text_file(path, "manifest schema"))
    if not isinstance(schema, dict):
        raise UserInputError(f"{path}: a JSON Schema must be a JSON object")
    return schema


def load_schemas(directory: Path | None = None) -> list[dict]:
    """The schemas every manifest must pass: the packaged one, then ``directory``'s own
    ``schema.json`` when it has a different one (it can only add rules)."""
    packaged = packaged_manifest_dir()
    if packaged is None or not (packaged / "schema.json").is_file():
        raise UserInputError("the packaged data manifest schema.json is missing; reinstall aprior")
    schemas = [_read_schema(packaged / "schema.json")]
    if directory is not None and (directory / "schema.json").is_file():
        own = _read_schema(directory / "schema.json")
        if own != schemas[0]:
            schemas.append(own)
    return schemas


def load_schema(directory: Path | None = None) -> dict:
    """The packaged manifest JSON Schema (what every manifest must pass)."""
    return load_schemas(directory)[0]


def validate_manifest(data: object, schema: dict | list[dict], source: str) -> None:
    """Raise :class:`UserInputError` naming ``source`` and the field if ``data`` is invalid
    against ``schema`` (or against any of a list of schemas)."""
    import jsonschema

    for one in schema if isinstance(schema, list) else [schema]:
        try:
            validator = jsonschema.Draft202012Validator(one)
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        except jsonschema.exceptions.SchemaError as exc:
            raise UserInputError(f"{source}: the folder's schema.json is not a valid JSON "
                                 f"Schema ({exc.message})") from None
        if errors:
            err = errors[0]
            where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
            raise UserInputError(f"{source}: invalid manifest, field {where}: {err.message}")


_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)


def safe_filename(name: str, source: str, field_name: str = "filename") -> str:
    """Return ``name`` if it is a plain file name for the cache, else raise one line.

    Refused: empty, ``.``/``..``, a ``/`` or ``\\`` anywhere, absolute paths, NUL or other
    control characters, and names still holding percent-encoded separators.
    """
    bad = None
    if not name or name in (".", ".."):
        bad = "is empty or a directory reference"
    elif "/" in name or "\\" in name or os.path.isabs(name) or Path(name).name != name:
        bad = "contains a path separator"
    elif any(ord(c) < 32 or ord(c) == 127 for c in name):
        bad = "contains a NUL or control character"
    elif _ENCODED_SEPARATOR.search(name):
        bad = "contains a percent-encoded separator"
    if bad:
        raise UserInputError(f"{source}: unsafe cache file name {name!r} from {field_name} "
                             f"({bad}); it must be a plain file name")
    return name


def cache_filename(data: dict, source: str) -> str:
    """The cache file name: ``filename``, else the URL path's last part (percent-decoded)."""
    if data.get("filename"):
        return safe_filename(str(data["filename"]), source)
    raw = Path(urlparse(data["url"]).path).name
    if _ENCODED_SEPARATOR.search(raw):
        raise UserInputError(f"{source}: unsafe cache file name {raw!r} from the url "
                             "(contains a percent-encoded separator); give a plain 'filename'")
    if not raw:
        return safe_filename(data["name"], source, "name")
    return safe_filename(unquote(raw), source, "the url")


def read_manifest(path: str | os.PathLike, schema: dict | list[dict] | None = None) -> Manifest:
    """Read and validate one manifest YAML file."""
    path = Path(path)
    from aprior_cli.io.files import read_text_file

    text = read_text_file(path, "manifest")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserInputError(f"{path}: not valid YAML ({first})") from exc
    validate_manifest(data, schema if schema is not None else load_schemas(path.parent),
                      str(path))
    if data["name"] != path.stem:
        raise UserInputError(f"{path}: field name is {data['name']!r} but the file is "
                             f"{path.name}; they must match")
    safe_filename(data["name"], str(path), "name")
    filename = cache_filename(data, str(path))
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
    schemas = load_schemas(folder)
    return {name: read_manifest(folder / f"{name}.yaml", schemas)
            for name in manifest_names(folder)}


def get_manifest(name: str, directory: str | os.PathLike | None = None) -> Manifest:
    """The manifest called ``name``; an unknown name lists the known ones."""
    folder = manifest_dir(directory)
    names = manifest_names(folder)
    if name not in names:
        known = ", ".join(names) if names else "(none)"
        raise UserInputError(f"unknown resource {name!r} (manifests in {folder}); known: {known}")
    return read_manifest(folder / f"{name}.yaml", load_schemas(folder))
