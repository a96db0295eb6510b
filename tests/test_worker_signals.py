"""Ctrl-C during an out-of-core run: the terminal signals the whole process group; the spawned
workers must not each print a KeyboardInterrupt traceback while they start (a robustness review
found 24 lines of it). They start ignoring SIGINT and this process stops them; the window in which
this process ignores it too is the processes' creation only (the job waits in a file)."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from qa.audit.outofcore import _workers_ignore_ctrl_c


def _exit_with_sigint_ignored() -> None:
    raise SystemExit(0 if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else 1)


@pytest.mark.slow
def test_workers_started_in_the_window_ignore_ctrl_c_and_this_process_gets_its_handler_back():
    previous = signal.getsignal(signal.SIGINT)
    with _workers_ignore_ctrl_c():
        worker = multiprocessing.get_context("spawn").Process(target=_exit_with_sigint_ignored)
        worker.start()
    assert signal.getsignal(signal.SIGINT) is previous
    worker.join(timeout=60)
    assert worker.exitcode == 0


def test_the_workers_job_is_not_sent_through_their_start(tmp_path):
    """The rules (~2 MB pickled) sent with each worker's start kept this process writing to the worker
    while it imported qa, about a second in which Ctrl-C was ignored."""
    from qa.audit.outofcore import _StaticJob, _Workers
    from qa.rules import load_rules

    workers = _Workers(_StaticJob(load_rules(), None, None, None), 2)
    try:
        (job_file,) = workers.pool._initargs
        assert isinstance(job_file, str) and os.path.getsize(job_file) > 100_000
    finally:
        workers.close()
    assert not os.path.exists(job_file)
