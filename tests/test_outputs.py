"""Output safety (issue 11, item 7): failed writes say what and why in one line and leave no
debris; signals and kill -9 leave no temporary files or spill folders for long; two outputs
never land on one file; a locked history says it is locked."""

from __future__ import annotations

import errno
import gc
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from helpers import run

from qa.errors import OutputError
from qa.outputs import describe_os_error, owner_tag, sweep_stale
from qa.report.files import atomic_write

ROOT = Path(__file__).resolve().parent.parent

CHAT = """session_id,timestamp,role,agent,text
S1,2026-11-20 10:00:00,customer,,我的快递怎么还没到
S1,2026-11-20 10:01:00,agent,店:小美,我已经说过很多遍了，明天到
S2,2026-11-20 10:02:00,customer,,能开发票吗
S2,2026-11-20 10:03:00,agent,店:阿杰,可以的呢，麻烦提供一下抬头
"""


@pytest.fixture
def chat_file(tmp_path: Path) -> Path:
    path = tmp_path / "day.csv"
    path.write_text(CHAT, encoding="utf-8")
    return path


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("qa: error: "), lines
    assert "internal error" not in lines[0] and "Traceback" not in result.output
    return lines[0]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------------------------------
# Two outputs on one file, an output on an input


@pytest.mark.parametrize("first, second", [
    ("-o", "--json"), ("-o", "--findings-csv"), ("--json", "--findings-csv"),
    ("-o", "--findings-parquet"), ("--json", "--history"), ("-o", "--history"),
])
def test_two_outputs_on_one_path_are_refused_before_anything_is_written(chat_file, tmp_path, first, second):
    out = tmp_path / "out"
    target = out / "same.file"
    args = {"-o": str(out / "r.xlsx"), first: str(target), second: str(target)}
    result = run("audit", str(chat_file), *[part for pair in args.items() for part in pair])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert f"{first} {target} and {second} {target} are the same file" in line
    assert _leftovers(out) == []


def test_history_given_as_the_workbook_is_kept(chat_file, tmp_path):
    history = tmp_path / "h.sqlite"
    assert run("audit", str(chat_file), "-o", str(tmp_path / "r.xlsx"), "--history", str(history)).exit_code == 0
    before = history.read_bytes()
    result = run("audit", str(chat_file), "-o", str(tmp_path / "." / "h.sqlite"), "--history", str(history))
    assert result.exit_code == 2
    assert "are the same file" in _one_error_line(result)
    assert history.read_bytes() == before and before.startswith(b"SQLite format 3")


def test_an_output_hard_linked_to_an_input_is_refused(chat_file, tmp_path):
    alias = tmp_path / "alias.json"
    os.link(chat_file, alias)
    result = run("audit", str(chat_file), "-o", str(tmp_path / "r.xlsx"), "--json", str(alias))
    assert result.exit_code == 2
    assert "(--json) is one of the inputs" in _one_error_line(result)
    assert chat_file.read_text(encoding="utf-8") == CHAT
    assert not (tmp_path / "r.xlsx").exists()


def test_review_refuses_the_suppressions_on_the_rescored_workbook(chat_file, tmp_path):
    audited = tmp_path / "r.xlsx"
    assert run("audit", str(chat_file), "-o", str(audited)).exit_code == 0
    target = tmp_path / "reviewed.xlsx"
    result = run("review", str(audited), "-o", str(target), "--emit-suppressions", str(target), "--no-history")
    assert result.exit_code == 2
    assert "-o" in _one_error_line(result) and "are the same file" in result.stderr
    assert not target.exists()


# ---------------------------------------------------------------------------------------
# Failed writes: one line with the cause, nothing left behind


def test_unwritable_folder_is_one_line_naming_the_path(chat_file, tmp_path, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    # What a read-only folder does to anything created in it (root ignores chmod, so simulate).
    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(os, "mkdir", refuse)
    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    out = tmp_path / "locked" / "r.xlsx"
    result = run("audit", str(chat_file), "-o", str(out))
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        f"qa: error: cannot write {out}: permission denied "
        "(is the folder read-only, or the file open in another program?)"
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that file modes apply to")
def test_read_only_folder_for_real(chat_file, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run("audit", str(chat_file), "-o", str(folder / "r.xlsx"))
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2
    assert "permission denied" in _one_error_line(result)


class _FullDisk:
    """A file on a disk that has just filled up: every write, flush and close fails."""

    def __init__(self, handle):
        self.handle = handle

    def _full(self, *_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    write = flush = _full

    def close(self):
        self.handle.close()
        self._full()

    def __getattr__(self, name):
        return getattr(self.handle, name)


@pytest.mark.parametrize("in_memory", [False, True])
def test_disk_full_during_the_workbook_is_one_line_and_leaves_nothing(chat_file, tmp_path, monkeypatch, in_memory):
    """Parts assembled in temporary files (large audits: ZipFile.write) or in memory (small
    ones: ZipFile.writestr)."""
    from qa.report.excel import audit_book

    monkeypatch.setattr(audit_book, "IN_MEMORY_MAX_MESSAGES", 10**9 if in_memory else -1)
    method = "writestr" if in_memory else "write"
    original = getattr(zipfile.ZipFile, method)
    calls = []

    def write(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 3:  # a few parts in, the disk is full
            self.fp = _FullDisk(self.fp)
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, *args, **kwargs)

    unraisable = []
    monkeypatch.setattr(zipfile.ZipFile, method, write)
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    out = tmp_path / "out"
    result = run("audit", str(chat_file), "-o", str(out / "r.xlsx"), "--json", str(out / "r.json"))
    gc.collect()
    assert result.exit_code == 2
    assert _one_error_line(result) == (
        f"qa: error: cannot write {out / 'r.xlsx'}: disk full (no space left on the device); free some space and run again"
    )
    assert _leftovers(out) == []  # neither the temporary workbook nor the writer's scratch files
    assert [u.object for u in unraisable] == []  # no "Exception ignored in ZipFile.__del__"


@pytest.mark.parametrize("code, cause", [
    (errno.ENOSPC, "disk full"),
    (errno.EBUSY, "locked or in use by another program"),
    (errno.EISDIR, "it is a folder"),
    (errno.EROFS, "read-only"),
])
def test_a_failing_writer_leaves_no_scratch_files(tmp_path, code, cause):
    def writer(temporary: Path) -> None:
        temporary.write_text("half a report")
        (temporary.parent / "tmpscratch").write_bytes(b"x" * 1000)  # what xlsxwriter leaves
        raise OSError(code, os.strerror(code))

    with pytest.raises(OutputError) as raised:
        atomic_write(tmp_path / "r.json", writer)
    assert str(raised.value).startswith(f"cannot write {tmp_path / 'r.json'}: ")
    assert cause in str(raised.value)
    assert _leftovers(tmp_path) == []


def test_a_windows_sharing_violation_reads_as_locked():
    error = OSError(errno.EACCES, "The process cannot access the file")
    error.winerror = 32
    assert describe_os_error(error).startswith("the file is locked or in use")


# ---------------------------------------------------------------------------------------
# Signals and kill -9


def _big_log(path: Path, sessions: int = 1000) -> Path:
    """16,000 messages: the workbook takes a moment to write, long enough to be
    interrupted during it."""
    lines = ["session_id,timestamp,role,agent,text"]
    for s in range(sessions):
        for m in range(16):
            minute = m * 2
            role, agent, text = (("customer", "", f"请问订单{s}-{m}什么时候发货") if m % 2 == 0
                                 else ("agent", f"店:客服{s % 40}", f"亲，订单{s}-{m}今天发出，请耐心等待"))
            lines.append(f"S{s:05d},2026-11-20 {10 + minute // 60:02d}:{minute % 60:02d}:{s % 60:02d},{role},{agent},{text}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_log(tmp_path_factory) -> Path:
    return _big_log(tmp_path_factory.mktemp("big") / "big.csv")


def _start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # qa started as a foreground command is: a test runner run as a background job (or a worker
    # that ignores Ctrl-C) would pass SIGINT on ignored, and qa keeps an ignored signal ignored.
    return subprocess.Popen([sys.executable, "-m", "qa", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)


def _default_signals() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)


def _wait_for(process: subprocess.Popen, folder: Path, pattern: str, timeout: float = 60) -> list[Path]:
    """Poll until an entry matching ``pattern`` appears in ``folder`` (the phase to interrupt)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern)) if folder.exists() else []
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"qa ended before {pattern} appeared: {process.stderr.read()}")
        time.sleep(0.002)
    process.kill()
    pytest.fail(f"{pattern} did not appear in {timeout} s")


def _finish(process: subprocess.Popen) -> str:
    _, stderr = process.communicate(timeout=60)
    return stderr


# The signal tests run real qa processes on a large log, to interrupt them mid-write: slow.
@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_workbook_write_leaves_no_temporary_files(big_log, tmp_path, sig):
    out = tmp_path / "out"
    for _attempt in range(3):
        process = _start("audit", str(big_log), "-o", str(out / "r.xlsx"))
        _wait_for(process, out, ".r.xlsx.*")
        process.send_signal(sig)
        stderr = _finish(process)
        # On a busy machine the write may end between seeing its temporary file and the signal
        # landing: that run was not interrupted mid-write, so it is tried again.
        if not (process.returncode == 0 and (out / "r.xlsx").exists()):
            break
        (out / "r.xlsx").unlink()
    assert process.returncode == 2, stderr
    assert stderr.strip().splitlines()[-1] == f"qa: interrupted ({sig.name}); temporary files removed"
    assert "Traceback" not in stderr
    assert _leftovers(out) == []


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_kill_9_debris_is_swept_by_the_next_write_into_the_folder(big_log, chat_file, tmp_path):
    out = tmp_path / "out"
    process = _start("audit", str(big_log), "-o", str(out / "r.xlsx"))
    left = _wait_for(process, out, ".r.xlsx.*")
    process.kill()
    _finish(process)
    assert all(path.exists() for path in left)  # nothing can clean up after kill -9 itself
    mine = out / f".other.xlsx.{owner_tag()}live.tmp"  # a live writer's folder (this process)
    mine.mkdir()
    assert run("audit", str(chat_file), "-o", str(out / "day.xlsx")).exit_code == 0
    assert _leftovers(out) == sorted(["day.xlsx", mine.name])


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_removes_the_out_of_core_spill_and_kill_9_spill_is_swept_later(big_log, chat_file, tmp_path):
    work = tmp_path / "work"
    out = tmp_path / "out"
    process = _start("audit", str(big_log), "-o", str(out / "r.xlsx"), "--out-of-core", "--work-dir", str(work))
    _wait_for(process, work, "qa-outofcore-*")
    process.send_signal(signal.SIGTERM)
    stderr = _finish(process)
    assert process.returncode == 2, stderr
    assert "interrupted (SIGTERM)" in stderr
    assert _leftovers(work) == [] and _leftovers(out) == []

    process = _start("audit", str(big_log), "-o", str(out / "r.xlsx"), "--out-of-core", "--work-dir", str(work))
    left = _wait_for(process, work, "qa-outofcore-*")
    process.kill()
    _finish(process)
    assert all(path.exists() for path in left)
    result = run("audit", str(chat_file), "-o", str(out / "day.xlsx"), "--out-of-core", "--work-dir", str(work))
    assert result.exit_code == 0, result.output
    assert _leftovers(work) == []


def test_sweep_keeps_entries_of_live_owners_and_of_other_hosts(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    host = owner_tag().split("-")[2]
    stale = tmp_path / f"qa-outofcore-qa-{dead}-{host}-abc"
    live = tmp_path / f"qa-outofcore-{owner_tag()}def"
    elsewhere = tmp_path / f"qa-outofcore-qa-{dead}-{'0' * 6 if host != '0' * 6 else '1' * 6}-ghi"
    unrelated = tmp_path / "qa-outofcore-notes"
    for path in (stale, live, elsewhere, unrelated):
        path.mkdir()
    assert sweep_stale(tmp_path, "qa-outofcore-") == [stale]
    assert _leftovers(tmp_path) == sorted(p.name for p in (live, elsewhere, unrelated))


# ---------------------------------------------------------------------------------------
# A locked history


def _hold(history: Path, how: str) -> sqlite3.Connection:
    holder = sqlite3.connect(str(history), isolation_level=None)
    holder.execute(f"BEGIN {how}")
    if how == "IMMEDIATE":
        holder.execute("UPDATE runs SET findings = findings")
    return holder


@pytest.mark.slow
def test_a_history_locked_by_another_program_says_so_quickly(chat_file, tmp_path, monkeypatch):
    history = tmp_path / "h.sqlite"
    assert run("audit", str(chat_file), "-o", str(tmp_path / "r.xlsx"), "--history", str(history)).exit_code == 0
    monkeypatch.setenv("QA_HISTORY_WAIT", "0.3")
    holder = _hold(history, "EXCLUSIVE")
    try:
        started = time.monotonic()
        result = run("audit", str(chat_file), "-o", str(tmp_path / "r2.xlsx"), "--history", str(history))
        took = time.monotonic() - started
        shown = run("history", "--history", str(history))
    finally:
        holder.close()
    assert result.exit_code == 2 and shown.exit_code == 2
    line = _one_error_line(result)
    assert line.startswith(f"qa: error: history {history} is locked by another program; waited 0.3 s")
    assert "not a qa history" not in line
    assert "is locked by another program" in _one_error_line(shown)
    assert took < 10
    # once the lock is gone the same command works
    assert run("audit", str(chat_file), "-o", str(tmp_path / "r2.xlsx"), "--history", str(history)).exit_code == 0


def test_a_history_locked_by_another_qa_run_names_it(chat_file, tmp_path, monkeypatch):
    history = tmp_path / "h.sqlite"
    assert run("audit", str(chat_file), "-o", str(tmp_path / "r.xlsx"), "--history", str(history)).exit_code == 0
    assert not Path(f"{history}.writer").exists()  # a finished writer takes its name away
    monkeypatch.setenv("QA_HISTORY_WAIT", "0.2")
    holder = _hold(history, "IMMEDIATE")  # a qa run in the middle of recording (this process)
    Path(f"{history}.writer").write_text(
        json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": "2026-11-20T10:00:00Z"}),
        encoding="utf-8",
    )
    try:
        result = run("audit", str(chat_file), "-o", str(tmp_path / "r2.xlsx"), "--history", str(history))
    finally:
        holder.close()
    assert result.exit_code == 2
    assert (f"is locked by another qa run (process {os.getpid()}, writing since 2026-11-20T10:00:00Z)"
            in _one_error_line(result))


def test_the_default_wait_for_a_locked_history_is_short(monkeypatch):
    from qa.history import history_wait

    monkeypatch.delenv("QA_HISTORY_WAIT", raising=False)
    assert 0 < history_wait() <= 10
    monkeypatch.setenv("QA_HISTORY_WAIT", "soon")
    with pytest.raises(Exception, match="QA_HISTORY_WAIT='soon' is not a number of seconds"):
        history_wait()


def _json_record_by_record(document: dict) -> str:
    """The JSON file as written before the arrays were encoded column-wise: each record of
    :func:`build_result`'s document encoded on its own, one per line."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    text = "{"
    for number, (key, value) in enumerate(document.items()):
        text += ("\n" if number == 0 else ",\n") + encode(key) + ": "
        if key in ("version", "summary"):
            text += encode(value)
            continue
        text += "[" + "".join(("\n  " if i == 0 else ",\n  ") + encode(r) for i, r in enumerate(value))
        text += "\n]" if value else "]"
    return text + "\n}\n"


@pytest.mark.parametrize("mask", [True, False])
def test_json_written_column_wise_is_the_record_by_record_text(tmp_path, mask):
    from qa.audit.run import audit
    from qa.report.json_report import build_result, write_json

    samples = Path(__file__).resolve().parent.parent / "samples"
    hostile = tmp_path / "hostile.csv"
    hostile.write_text(
        "session_id,timestamp,role,agent,text\n"
        'S1,2026-11-20 10:00:00,customer,,"假货吧？\\"引号\\" \\\\ 反斜杠 \u2028 😡 13800138000"\n'
        'S1,2026-11-20 10:05:00,agent,小美,"爱买不买 _x0041_ \x07"\n'
        "S2,2026-11-20 11:00:00,customer,,在吗？？？\n",  # a session the agent never answered: NaN times
        encoding="utf-8",
    )
    result = audit([str(samples / "qiyu-export.xlsx"), str(samples / "qianniu-day.csv"), str(hostile)])
    assert len(result.findings) and (result.findings["sheet"].fillna("") != "").any()
    assert result.sessions["first_response_s"].isna().any()
    out = tmp_path / "r.json"
    write_json(result, out, mask=mask)
    assert out.read_text(encoding="utf-8") == _json_record_by_record(build_result(result, mask=mask))


def test_output_through_a_symlink_writes_the_file_it_points_to_and_keeps_the_link(tmp_path):
    from qa.report.files import atomic_write_text

    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(link, "{}")
    assert link.is_symlink() and target.read_text() == "{}"


def test_output_to_a_named_pipe_is_written_through_not_replaced(tmp_path):
    """--json /dev/stdout (or a pipe, a device) must stream into it: renaming a file onto it
    replaced the device with a regular file."""
    import stat
    import threading

    from qa.report.files import atomic_write_text

    pipe = tmp_path / "out.fifo"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_text()))
    reader.start()
    atomic_write_text(pipe, '{"version": 1}')
    reader.join(timeout=10)
    assert received == ['{"version": 1}']
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)


def test_an_output_name_too_long_for_the_file_system_is_a_one_line_error(tmp_path):
    from qa.outputs import check_outputs

    with pytest.raises(OutputError, match="too long"):
        check_outputs([("-o", tmp_path / ("a" * 300 + ".xlsx"))])


@pytest.mark.slow
def test_json_dash_writes_the_result_to_standard_output(tmp_path):
    """--json - wrote a file named '-' in the working folder."""
    sample = Path(__file__).resolve().parent.parent / "samples" / "qianniu-export.csv"
    done = subprocess.run([sys.executable, "-m", "qa", "audit", str(sample), "-o", str(tmp_path / "r.xlsx"),
                           "--json", "-", "--no-history"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["audited_rows"] > 0
    assert not (tmp_path / "-").exists()


def test_a_pipe_or_dash_as_input_is_a_clear_error_not_no_such_file(tmp_path):
    from qa.errors import InputError
    from qa.ingest import load_inputs

    pipe = tmp_path / "in.fifo"
    os.mkfifo(pipe)
    for item in (str(pipe), "-"):
        with pytest.raises(InputError, match="a pipe or device, not a file"):
            load_inputs([item])


@pytest.mark.parametrize("option", ["-o", "--json", "--findings-csv"])
def test_an_output_that_is_a_folder_is_one_line_not_a_usage_block(tmp_path, option):
    sample = Path(__file__).resolve().parent.parent / "samples" / "qianniu-export.csv"
    folder = tmp_path / "isdir.xlsx"
    folder.mkdir()
    extra = [] if option == "-o" else ["-o", str(tmp_path / "r.xlsx")]
    result = run("audit", str(sample), *extra, option, str(folder), "--no-history")
    assert result.exit_code == 2
    assert "it is a folder" in result.output and "Usage:" not in result.output
