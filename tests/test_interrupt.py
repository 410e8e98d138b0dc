"""aprior_cli.interrupt: handlers installed only for a block, immediate vs deferred stops,
exit codes, and the pause hook the subprocess fault tests use."""

from __future__ import annotations

import os
import signal

import pytest

from aprior_cli import interrupt
from aprior_cli.interrupt import Interrupted


def test_exit_codes_are_the_documented_ones():
    assert interrupt.exit_code(signal.SIGTERM) == 75
    assert interrupt.exit_code(signal.SIGUSR1) == 75
    assert interrupt.exit_code(signal.SIGINT) == 130
    assert Interrupted(signal.SIGINT).exit_code == 130


def test_handlers_are_installed_for_the_block_only():
    before = {s: signal.getsignal(s) for s in interrupt.SIGNALS}
    with interrupt.handling():
        for s in interrupt.SIGNALS:
            assert signal.getsignal(s) is interrupt._handler
    assert {s: signal.getsignal(s) for s in interrupt.SIGNALS} == before
    assert interrupt.pending() is None


def test_outside_a_deferred_region_a_signal_raises_at_once():
    with pytest.raises(Interrupted) as info, interrupt.handling():
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(1000):  # the handler runs at the next bytecode
            pass
        raise AssertionError("not interrupted")
    assert info.value.signum == signal.SIGUSR1 and info.value.exit_code == 75
    assert interrupt.pending() is None  # forgotten when the block ends


def test_inside_a_deferred_region_signals_are_recorded_and_raised_at_its_end():
    reached = []
    with pytest.raises(Interrupted) as info, interrupt.handling():
        with interrupt.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)  # a second signal does not interrupt either
            reached.append("after the signals")
            assert interrupt.pending() == signal.SIGTERM  # the first one counts
        reached.append("not reached")
    assert reached == ["after the signals"]
    assert info.value.signum == signal.SIGTERM and info.value.where == ""


def test_check_raises_with_where_and_checkpoint_and_message_is_one_line():
    with pytest.raises(Interrupted) as info, interrupt.handling():
        with interrupt.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            interrupt.check("after epoch 3, step 2 of epoch 4", "checkpoint run.partial/c.pt")
    exc = info.value
    exc.subject, exc.hint = "runs/x", "rerun with --resume to continue"
    assert exc.message() == ("runs/x: interrupted by SIGINT after epoch 3, step 2 of epoch 4 "
                             "(checkpoint run.partial/c.pt); rerun with --resume to continue")


def test_without_handling_nothing_is_pending_and_check_is_a_no_op():
    with interrupt.deferred():
        interrupt.check("anywhere")
    assert interrupt.pending() is None


def test_safe_point_pauses_only_at_the_named_occurrence(monkeypatch, capsys):
    monkeypatch.setenv(interrupt.PAUSE_ENV, "epoch 1 step 2@2")
    monkeypatch.setattr(interrupt, "PAUSE_TIMEOUT_S", 0.05)
    with interrupt.handling():
        interrupt.safe_point("epoch 1 step 2")  # first occurrence: no pause
        assert "paused" not in capsys.readouterr().err
        interrupt.safe_point("epoch 1 step 1")
        interrupt.safe_point("epoch 1 step 2")  # second: pauses (times out here)
        assert "aprior-test: paused at epoch 1 step 2" in capsys.readouterr().err
