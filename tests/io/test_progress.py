"""aprior_cli.io.progress: finished units survive for --resume, and only for the same settings."""

from __future__ import annotations

import json

import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io.progress import ProgressStore, finished_outputs


def test_units_round_trip_and_the_folder_goes_when_finished(tmp_path):
    out = tmp_path / "out"
    store = ProgressStore(out, {"p": (1, 2), "seed": 0}, resume=False)
    store.add("1,0", {"acc": 0.5, "nan": float("nan")})
    assert json.loads((tmp_path / "out.partial" / "progress.json").read_text())["units"]
    again = ProgressStore(out, {"p": [1, 2], "seed": 0}, resume=True)  # tuple == list in JSON
    assert list(again.done) == ["1,0"] and again.done["1,0"]["acc"] == 0.5
    assert again.done["1,0"]["nan"] != again.done["1,0"]["nan"]  # NaN kept
    again.finish()
    assert not (tmp_path / "out.partial").exists()


def test_without_resume_a_stale_folder_is_discarded(tmp_path):
    ProgressStore(tmp_path / "out", {"seed": 0}, resume=False).add("a", 1)
    fresh = ProgressStore(tmp_path / "out", {"seed": 0}, resume=False)
    assert fresh.done == {} and not (tmp_path / "out.partial").exists()


def test_resume_with_other_settings_is_one_line(tmp_path):
    ProgressStore(tmp_path / "out", {"seed": 0}, resume=False).add("a", 1)
    with pytest.raises(UserInputError) as info:
        ProgressStore(tmp_path / "out", {"seed": 1}, resume=True)
    assert str(info.value) == (f"--resume: seed differs from the interrupted run (1 now, 0 "
                               f"before); delete {tmp_path / 'out.partial'} or rerun without "
                               "--resume")


def test_finished_outputs_needs_every_file_and_the_same_settings(tmp_path):
    (tmp_path / "a.tsv").write_text("x")
    assert not finished_outputs(tmp_path, ["a.tsv"], "s.json", {"n": 1})
    (tmp_path / "s.json").write_text(json.dumps({"n": 1, "other": 2}))
    assert finished_outputs(tmp_path, ["a.tsv"], "s.json", {"n": 1})
    assert not finished_outputs(tmp_path, ["a.tsv"], "s.json", {"n": 2})
    assert not finished_outputs(tmp_path, ["a.tsv", "b.tsv"], "s.json", {"n": 1})
    (tmp_path / "s.json").write_text("{broken")
    assert not finished_outputs(tmp_path, ["a.tsv"], "s.json", {"n": 1})
