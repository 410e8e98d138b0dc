"""A stop signal while replicates run in worker processes: the parent stops the workers at
once instead of waiting for them (and nothing is written)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from aprior_cli import interrupt
from aprior_cli.interrupt import Interrupted
from aprior_cli.reproduce.common import map_replicates

WORKER = '''
import os, time
from pathlib import Path

def slow_replicate(folder, rep):
    Path(folder, f"started_{rep}").touch()
    deadline = time.monotonic() + 120   # a long replicate
    while time.monotonic() < deadline:
        time.sleep(0.05)
    Path(folder, f"finished_{rep}").touch()
    return [{"rep": rep}]
'''


@pytest.mark.slow
def test_signal_stops_the_worker_processes(tmp_path, monkeypatch):
    (tmp_path / "slow_worker.py").write_text(WORKER)
    monkeypatch.syspath_prepend(str(tmp_path))
    import slow_worker

    def signal_when_both_started():  # event-driven: waits for the workers' marker files
        while not all((tmp_path / f"started_{r}").exists() for r in (0, 1)):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=signal_when_both_started, daemon=True).start()
    with pytest.raises(Interrupted) as info, interrupt.handling():
        map_replicates(slow_worker.slow_replicate, 2, 2, str(tmp_path))
    assert info.value.exit_code == 75
    # the workers were terminated, not waited for: neither replicate finished
    assert not list(tmp_path.glob("finished_*"))
    sys.modules.pop("slow_worker", None)
