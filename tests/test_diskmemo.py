"""Results of pure functions kept between runs (qa.diskmemo): a result comes back from the file
of an earlier run; a changed source file or library makes the file cold; files others could
write, damaged files and an empty QA_CACHE_DIR are ignored; exceptions are never stored."""

from __future__ import annotations

import os

import pytest

from qa import diskmemo, regexcache

calls: list[str] = []


@diskmemo.disk_memo
def _shout(text: str, times: int = 1) -> str:
    calls.append(text)
    if not text:
        raise ValueError("empty")
    return text.upper() * times


def _new_process(monkeypatch):
    monkeypatch.setattr(diskmemo, "_memo", diskmemo._new_memo())
    calls.clear()


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(regexcache.atexit, "register", lambda _f: None)
    _new_process(monkeypatch)
    return tmp_path


def test_a_result_comes_back_from_the_file_without_calling_again(fresh, monkeypatch):
    assert _shout("ab", times=2) == "ABAB"
    diskmemo._save()
    assert [p.name for p in fresh.iterdir()] == [f"derived-{diskmemo.fingerprint()[:16]}.pickle"]
    _new_process(monkeypatch)
    assert _shout("ab", times=2) == "ABAB"
    assert calls == []
    assert _shout("ab") == "AB"  # other arguments are another entry
    assert calls == ["ab"]


def test_a_changed_fingerprint_makes_the_file_cold(fresh, monkeypatch):
    _shout("ab")
    diskmemo._save()
    _new_process(monkeypatch)
    monkeypatch.setattr(diskmemo, "fingerprint", lambda: "another build")
    assert _shout("ab") == "AB"
    assert calls == ["ab"]


def test_the_fingerprint_follows_the_source_files(fresh, monkeypatch, tmp_path):
    before = diskmemo.fingerprint()
    diskmemo.fingerprint.cache_clear()
    source = diskmemo.Path(diskmemo.__file__)
    status = source.stat()
    try:
        os.utime(source, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
        assert diskmemo.fingerprint() != before
    finally:
        os.utime(source, ns=(status.st_atime_ns, status.st_mtime_ns))
        diskmemo.fingerprint.cache_clear()
    assert diskmemo.fingerprint() == before


def test_exceptions_are_not_stored(fresh):
    for _ in range(2):
        with pytest.raises(ValueError):
            _shout("")
    assert calls == ["", ""]


def test_damaged_and_foreign_writable_files_are_cold(fresh, monkeypatch):
    _shout("ab")
    diskmemo._save()
    (path,) = fresh.iterdir()
    if hasattr(os, "getuid"):
        os.chmod(path, 0o666)
        _new_process(monkeypatch)
        _shout("ab")
        assert calls == ["ab"]
    path.write_bytes(b"not a pickle")
    os.chmod(path, 0o600)
    _new_process(monkeypatch)
    assert _shout("ab") == "AB" and calls == ["ab"]


def test_empty_setting_turns_it_off(fresh, monkeypatch):
    monkeypatch.setenv("QA_CACHE_DIR", "")
    _shout("ab")
    diskmemo._save()
    assert not list(fresh.iterdir())


def test_builds_sharing_a_folder_keep_a_file_each_and_old_ones_go(fresh, monkeypatch):
    for build in ("a", "b"):
        _new_process(monkeypatch)
        monkeypatch.setattr(diskmemo, "fingerprint", lambda build=build: build * 20)
        _shout("ab")
        diskmemo._save()
    _new_process(monkeypatch)
    monkeypatch.setattr(diskmemo, "fingerprint", lambda: "a" * 20)
    _shout("ab")
    assert calls == []  # build a's file survived build b's run
    for build in "cdefg":
        _new_process(monkeypatch)
        monkeypatch.setattr(diskmemo, "fingerprint", lambda build=build: build * 20)
        _shout("ab")
        diskmemo._save()
    assert len(list(fresh.glob("derived-*.pickle"))) == 1 + diskmemo._KEEP_OTHER_BUILDS
