"""The output-path guard, output sets and locks (aprior_cli.io.outputs, aprior_cli.io.locks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from aprior_cli.errors import UserInputError
from aprior_cli.io import outputs as outputs_mod
from aprior_cli.io.locks import OutputBusyError, OutputLock, lock_path_for
from aprior_cli.io.outputs import (
    OutputSet,
    check_outputs,
    claim_outputs,
    command_scope,
    remove_stale,
)

# --------------------------------------------------------------------------- guard


def test_guard_refuses_output_equal_to_input(tmp_path):
    f = tmp_path / "l.tsv"
    f.write_text("x")
    with pytest.raises(UserInputError, match=r"-o/--output: .*l.tsv is also an input"):
        check_outputs({"-o/--output": f}, [f])
    with pytest.raises(UserInputError, match="is also an input"):      # another spelling
        check_outputs({"-o": tmp_path / "sub" / ".." / "l.tsv"}, [str(f)])


def test_guard_follows_symbolic_and_hard_links(tmp_path):
    f = tmp_path / "l.tsv"
    f.write_text("x")
    (tmp_path / "sym.tsv").symlink_to(f)
    os.link(f, tmp_path / "hard.tsv")
    for alias in ("sym.tsv", "hard.tsv"):
        with pytest.raises(UserInputError, match="is also an input"):
            check_outputs({"-o": tmp_path / alias}, [f])
    (tmp_path / "linkdir").symlink_to(tmp_path)
    with pytest.raises(UserInputError, match="is also an input"):
        check_outputs({"-o": tmp_path / "linkdir" / "l.tsv"}, [f])


def test_guard_inside_input_directory_and_replaced_outputs(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "expr.tsv").write_text("x")
    with pytest.raises(UserInputError, match="inside the input directory"):
        check_outputs({"-o": run / "attr"}, [run])
    check_outputs({"-o": tmp_path / "attr"}, [run])                  # beside it: fine
    # an input inside the output directory only matters when the command replaces it
    check_outputs({"-o": run}, [run / "expr.tsv"])
    with pytest.raises(UserInputError, match="which this command replaces"):
        check_outputs({"-o": run}, [run / "expr.tsv"], replaces=True)


def test_guard_refuses_two_outputs_on_one_file_and_skips_none(tmp_path):
    with pytest.raises(UserInputError, match="--train-samples: .* same path as -o"):
        check_outputs({"-o": tmp_path / "a", "--train-samples": tmp_path / "a"}, [])
    check_outputs({"-o": tmp_path / "a", "--x": None}, [None, "", [None]])


# --------------------------------------------------------------------------- locks


def test_lock_refuses_second_holder_with_pid_and_leaves_no_file(tmp_path):
    target = tmp_path / "new" / "out.tsv"
    first = OutputLock(target, "-o").acquire()
    assert lock_path_for(target).read_text().strip() == str(os.getpid())
    with pytest.raises(OutputBusyError, match=rf"-o: .*out.tsv is being written by another "
                                              rf"aprior process \(pid {os.getpid()}\)"):
        OutputLock(target, "-o").acquire()
    first.release()
    assert not (tmp_path / "new").exists()            # lock file and its new folder gone
    with OutputLock(target):
        pass
    assert not lock_path_for(target).exists()


def test_lock_of_a_killed_process_is_free(tmp_path):
    """SIGKILL leaves the lock file but not the lock: the next writer takes it."""
    target = tmp_path / "out.tsv"
    script = textwrap.dedent(f"""
        import sys, time
        from aprior_cli.io.locks import OutputLock
        OutputLock({str(target)!r}).acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(OutputBusyError, match=f"pid {child.pid}"):
            OutputLock(target).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert lock_path_for(target).exists()             # the file is left ...
    with OutputLock(target):                          # ... but the lock is not
        pass
    assert not lock_path_for(target).exists()


def test_lock_retries_when_the_holder_unlinks_between_open_and_flock(tmp_path, monkeypatch):
    """The open/flock/fstat-vs-stat pattern: a lock taken on an unlinked inode is retried."""
    target = tmp_path / "out"
    path = lock_path_for(target)
    import fcntl

    real_flock = fcntl.flock
    calls = []

    def flock(fd, op):
        if not calls:          # the first attempt: the old holder unlinks right now
            path.unlink()
        calls.append(op)
        return real_flock(fd, op)

    path.write_text("123\n")
    monkeypatch.setattr(fcntl, "flock", flock)
    lock = OutputLock(target).acquire()
    assert len(calls) == 2 and os.stat(path).st_ino == os.fstat(lock._fd).st_ino
    lock.release()


# --------------------------------------------------------------------------- output sets


def test_directory_set_is_published_by_one_rename(tmp_path):
    target = tmp_path / "out"
    with OutputSet(directory=target) as outs:
        (outs / "a.tsv").write_text("a")
        (outs / "b.json").write_text("b")
        staging = outs.staging
        inode = os.stat(staging).st_ino
        assert not target.exists()
    assert os.stat(target).st_ino == inode            # the staged folder itself, renamed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_directory_set_replaces_an_empty_directory_and_merges_into_a_full_one(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with OutputSet(directory=empty) as outs:
        (outs / "a.tsv").write_text("new")
    assert (empty / "a.tsv").read_text() == "new"
    full = tmp_path / "full"
    full.mkdir()
    (full / "job.log").write_text("snakemake log")
    (full / "a.tsv").write_text("old")
    with OutputSet(directory=full) as outs:
        (outs / "a.tsv").write_text("new")
        (outs / "sub").mkdir()
        (outs / "sub" / "x").write_text("x")
    assert (full / "job.log").read_text() == "snakemake log"
    assert (full / "a.tsv").read_text() == "new" and (full / "sub" / "x").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]


def test_merge_refuses_to_replace_an_input(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "ranking.tsv").write_text("input")
    outs = OutputSet(directory=out, inputs=[out / "ranking.tsv"]).open()
    (outs / "ranking.tsv").write_text("output")
    with pytest.raises(UserInputError, match="would replace the input"):
        outs.publish()
    assert (out / "ranking.tsv").read_text() == "input"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failure_leaves_nothing(tmp_path):
    target = tmp_path / "deep" / "er" / "out"
    with pytest.raises(RuntimeError), OutputSet(directory=target) as outs:
        (outs / "a.tsv").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    files = {"-o": tmp_path / "x.tsv", "side": tmp_path / "x.json"}
    with pytest.raises(KeyboardInterrupt), OutputSet(files=files) as outs:
        outs.path(files["-o"]).write_text("half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_files_set_renames_in_order_with_the_manifest_last(tmp_path, monkeypatch):
    main, side, manifest = tmp_path / "x.tsv", tmp_path / "x.scaler.json", tmp_path / "x.rep"
    for p in (main, side, manifest):
        p.write_text("old")
    outs = OutputSet(files={"-o": main, "s": side, "m": manifest}, manifest=manifest).open()
    outs.path(manifest).write_text("new")
    outs.path(side).write_text("new")
    outs.path(main).write_text("new")
    done = []
    real = os.replace

    def replace(src, dst):        # killed after the first rename
        if done:
            raise KeyboardInterrupt
        done.append(dst)
        real(src, dst)

    monkeypatch.setattr(outputs_mod.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        outs.publish()
    # the old manifest went first, so no old manifest sits beside a new member
    assert not manifest.exists() and side.read_text() == "new" and main.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.scaler.json", "x.tsv"]


def test_stale_leftovers_of_killed_runs_are_removed_under_the_lock(tmp_path):
    final = tmp_path / "expr.tsv"
    stale = [tmp_path / ".expr.tsv.ab12cd_3.tmp.tsv", tmp_path / ".expr.tsv.zz99zz99.tmp"]
    stale[0].write_text("half")
    stale[1].mkdir()
    (stale[1] / "expr.tsv").write_text("half")
    keep = [tmp_path / ".expr.tsv.gz.ab12cd34.tmp.tsv.gz", tmp_path / "expr.tsv.bak",
            tmp_path / ".other.tsv.ab12cd34.tmp.tsv"]
    for k in keep:
        k.write_text("keep")
    assert sorted(remove_stale(final)) == sorted(stale)
    assert all(k.exists() for k in keep)
    with OutputSet(files={"-o": final}) as outs:   # claiming cleans them too
        outs.path(final).write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([k.name for k in keep]
                                                                + ["expr.tsv"])


def test_command_scope_publishes_on_return_and_discards_on_error(tmp_path):
    with command_scope():
        outs = claim_outputs(directory=tmp_path / "ok")
        (outs / "a").write_text("a")
    assert (tmp_path / "ok" / "a").is_file()
    with pytest.raises(UserInputError), command_scope():
        outs = claim_outputs(directory=tmp_path / "bad")
        (outs / "a").write_text("a")
        raise UserInputError("late bad input")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]
    with pytest.raises(RuntimeError, match="outside a command"):
        claim_outputs(directory=tmp_path / "x")


def test_a_second_writer_is_refused_while_the_first_holds_the_set(tmp_path):
    target = tmp_path / "out"
    first = OutputSet(directory=target).open()
    with pytest.raises(OutputBusyError, match="being written by another aprior process"):
        OutputSet(directory=target).open()
    first.discard()
    assert list(tmp_path.iterdir()) == []
