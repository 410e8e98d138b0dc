"""Every data manifest is valid against data_manifests/schema.json and findable by the package."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml

from aprior_cli.errors import UserInputError
from aprior_cli.manifests import (
    get_manifest,
    load_manifests,
    manifest_dir,
    packaged_manifest_dir,
    read_manifest,
)

REPO = Path(__file__).resolve().parents[1]
TOP = REPO / "data_manifests"
MANIFESTS = sorted(TOP.glob("*.yaml"))
SCHEMA = json.loads((TOP / "schema.json").read_text())
REGISTRY_HOSTS = ("pypi.org", "pythonhosted.org", "anaconda.org", "anaconda.com",
                  "conda-forge.org", "npmjs", "crates.io", "cran.r-project.org",
                  "bioconductor.org", "huggingface.co")


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_manifest_is_valid(path):
    data = yaml.safe_load(path.read_text())
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert data["name"] == path.stem
    host = urlparse(data["url"]).hostname or ""
    assert not any(r in host for r in REGISTRY_HOSTS), host
    assert data["sha256"] is None or len(data["sha256"]) == 64
    assert len(data["citation"]) > 20 and len(data["description"]) > 20
    m = read_manifest(path)
    assert m.filename and "/" not in m.filename


def test_the_resources_users_asked_for_are_there():
    names = {p.stem for p in MANIFESTS}
    assert "humanbase_hematopoietic_stem_cell_top" in names       # the paper's network
    assert sum(n.startswith("humanbase_") for n in names) >= 3    # others by tissue
    assert "gencode_human_v44_gtf" in names
    assert {"msigdb_hallmark_v2023_2_symbols", "msigdb_kegg_legacy_v2023_2_symbols"} <= names
    assert {"beataml2_expression", "beataml2_drug_response",
            "beataml_tyner2018_supplementary_tables"} <= names
    assert "ncbi_homo_sapiens_gene_info" in names
    hb = get_manifest("humanbase_hematopoietic_stem_cell_top")
    assert hb.url == ("https://s3-us-west-2.amazonaws.com/humanbase/networks/"
                      "hematopoietic_stem_cell_top.gz")
    assert hb.filename == "hematopoietic_stem_cell_top.gz"
    beat = get_manifest("beataml_tyner2018_supplementary_tables")
    assert beat.filename == "41586_2018_623_MOESM3_ESM.xlsx"          # URL-decoded


def test_package_finds_the_top_level_folder():
    assert packaged_manifest_dir() == TOP.resolve()
    assert set(load_manifests()) == {p.stem for p in MANIFESTS}


def test_explicit_dir_and_env_override(tmp_path, monkeypatch):
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "url": "http://127.0.0.1:9/tiny.txt", "sha256": None, "size": 3,
        "licence": "CC0", "citation": "none", "description": "a test file"}))
    assert set(load_manifests(tmp_path)) == {"tiny"}
    monkeypatch.setenv("APRIOR_MANIFEST_DIR", str(tmp_path))
    assert manifest_dir() == tmp_path
    assert get_manifest("tiny").size == 3


def test_bad_manifests_are_one_line_errors(tmp_path):
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    good = {"name": "x", "url": "https://example.invalid/x", "sha256": None, "size": None,
            "licence": "l", "citation": "c", "description": "d"}
    cases = {
        "missing": ({k: v for k, v in good.items() if k != "licence"}, "licence"),
        "badhash": ({**good, "sha256": "abc"}, "sha256"),
        "extra": ({**good, "checksum": "x"}, "checksum"),
        "badurl": ({**good, "url": "www.example.org/x"}, "url"),
    }
    for stem, (data, word) in cases.items():
        data = {**data, "name": stem}
        path = tmp_path / f"{stem}.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(UserInputError, match=word) as info:
            read_manifest(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)
        path.unlink()
    mismatch = tmp_path / "other.yaml"
    mismatch.write_text(yaml.safe_dump(good))
    with pytest.raises(UserInputError, match="must match"):
        read_manifest(mismatch)
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        read_manifest(tmp_path / "broken.yaml")


def test_unknown_name_lists_known_ones():
    with pytest.raises(UserInputError, match="unknown resource 'nope'.*gencode_human_v44_gtf"):
        get_manifest("nope")


def test_missing_manifest_dir(tmp_path):
    with pytest.raises(UserInputError, match="manifest directory not found"):
        manifest_dir(tmp_path / "absent")
