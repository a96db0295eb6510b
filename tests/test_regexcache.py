"""The compiled-regex cache: patterns come back from the file of an earlier run and behave the
same; a file that is damaged or that others could write is ignored; an empty QA_CACHE_DIR turns
the cache off."""

from __future__ import annotations

import os

import pytest
import regex

from qa import regexcache

PATTERN = r"(?:不是(?!吗))|(?<=亲)[~～]+|\p{Han}{2}退货"


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A cache in tmp_path with nothing loaded yet in this process."""
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(regexcache, "_files", {})
    monkeypatch.setattr(regexcache.atexit, "register", lambda _f: None)
    return tmp_path


def _new_process(monkeypatch):
    monkeypatch.setattr(regexcache, "_files", {})


def _forbid_compiling(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("compiled again instead of read from the cache")

    monkeypatch.setattr(regex, "compile", refuse)  # (qa.regexcache imports regex where it compiles)


def test_pattern_comes_back_from_the_file_and_matches_the_same(fresh, monkeypatch):
    first = regexcache.compile_regex(PATTERN)
    regexcache._save()
    files = list(fresh.iterdir())
    assert len(files) == 1 and files[0].name.startswith("regex-")
    _new_process(monkeypatch)
    real_compile = regex.compile
    _forbid_compiling(monkeypatch)
    again = regexcache.compile_regex(PATTERN)
    for text in ("我不是这个意思", "不是吗", "亲~~", "七天无理由退货", "退货"):
        expected = real_compile(PATTERN).search(text)
        got = again.search(text)
        assert (got and got.span()) == (expected and expected.span()), text
    assert again.pattern == first.pattern


def test_a_store_is_a_file_of_its_own_read_only_when_used(fresh, monkeypatch):
    regexcache.compile_regex("abc")
    regexcache.compile_regex("xyz", store="large")
    regexcache._save()
    assert sorted(p.name.endswith("-large.pickle") for p in fresh.iterdir()) == [False, True]
    _new_process(monkeypatch)
    regexcache.compile_regex("abc")
    assert set(regexcache._files) == {""}  # the large store was not read
    _forbid_compiling(monkeypatch)
    assert regexcache.compile_regex("xyz", store="large").search("xyz")


def test_flags_are_part_of_the_key(fresh, monkeypatch):
    regexcache.compile_regex("abc")
    regexcache._save()
    _new_process(monkeypatch)
    ignoring_case = regexcache.compile_regex("abc", regex.IGNORECASE)
    assert ignoring_case.search("ABC")


def test_a_bad_pattern_raises_and_is_not_cached(fresh):
    with pytest.raises(regex.error):
        regexcache.compile_regex("(unclosed")
    assert ("(unclosed", 0) not in regexcache._files[""].entries


def test_a_damaged_file_is_a_cold_cache(fresh, monkeypatch):
    regexcache.compile_regex(PATTERN)
    regexcache._save()
    (path,) = fresh.iterdir()
    path.write_bytes(b"not a pickle")
    os.chmod(path, 0o600)
    _new_process(monkeypatch)
    assert regexcache.compile_regex(PATTERN).search("七天无理由退货")


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_file_others_can_write_is_not_read(fresh, monkeypatch):
    regexcache.compile_regex(PATTERN)
    regexcache._save()
    (path,) = fresh.iterdir()
    os.chmod(path, 0o666)
    _new_process(monkeypatch)
    _forbid_compiling(monkeypatch)
    with pytest.raises(AssertionError, match="compiled again"):
        regexcache.compile_regex(PATTERN)


def test_empty_setting_turns_the_cache_off(fresh, monkeypatch):
    monkeypatch.setenv("QA_CACHE_DIR", "")
    regexcache.compile_regex(PATTERN)
    regexcache._save()
    assert regexcache.cache_dir() is None
    assert not list(fresh.iterdir())


def test_an_unwritable_folder_does_not_fail(fresh, monkeypatch):
    blocker = fresh / "file"
    blocker.write_text("x")
    monkeypatch.setenv("QA_CACHE_DIR", str(blocker / "sub"))
    regexcache.compile_regex(PATTERN)
    regexcache._save()  # must not raise


def test_longest_first_orders_ties_by_text_not_by_set_order():
    assert regexcache.longest_first(["不", "不会", "没有", "", "不会"]) == ["不会", "没有", "不"]


def test_rule_alternations_are_the_same_in_every_process():
    """Built from sets, the alternations once came out in the set's order, which string hashing
    changes per process: a new cache entry (and compile) in every run."""
    import subprocess
    import sys

    script = ("from qa.negation import Scope; s = Scope(); "
              "print(s._negator.pattern, s._condition.pattern, s._exception.pattern)")
    outputs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_a_pattern_no_run_used_over_several_writes_is_dropped(fresh, monkeypatch):
    """An edited rule leaves its old pattern in the file; it goes once later runs that wrote
    the file did not use it, while patterns every run uses stay."""
    regexcache.compile_regex("old-form")
    regexcache.compile_regex("every-run")
    regexcache._save()
    for generation in range(regexcache.KeptDict.STALE_AFTER_SAVES):
        _new_process(monkeypatch)
        regexcache.compile_regex("every-run")
        regexcache.compile_regex(f"new-{generation}")  # something new, so the file is written
        regexcache._save()
    _new_process(monkeypatch)
    regexcache.compile_regex("every-run")
    kept = regexcache._files[""].entries
    assert ("every-run", 0) in kept and ("new-0", 0) in kept
    assert ("old-form", 0) not in kept


def test_a_warm_run_does_not_age_the_file(fresh, monkeypatch):
    regexcache.compile_regex("rarely")
    regexcache._save()
    for _ in range(regexcache.KeptDict.STALE_AFTER_SAVES + 2):
        _new_process(monkeypatch)
        regexcache.compile_regex("rarely")  # nothing new: nothing written
        regexcache._save()
    _new_process(monkeypatch)
    _forbid_compiling(monkeypatch)
    assert regexcache.compile_regex("rarely").search("rarely")


def _kept(path):
    return regexcache.KeptDict(lambda: path, 100)


def test_a_value_is_unpickled_only_when_asked_for_and_written_back_as_it_was(fresh, monkeypatch):
    import pickle

    path = fresh / "store.pickle"
    first = _kept(path)
    first.get("asked", lambda: ["a"])
    first.get("not asked", lambda: ["b"])
    first.save()
    loads = []
    real_loads = pickle.loads
    monkeypatch.setattr(regexcache.pickle, "loads", lambda data: loads.append(data) or real_loads(data))
    second = _kept(path)
    assert second.get("asked", lambda: pytest.fail("computed again")) == ["a"]
    assert len(loads) == 1  # the other value stayed a pickle
    second.get("new", lambda: ["c"])
    second.save()  # written back without being unpickled
    assert len(loads) == 1
    third = _kept(path)
    assert [third.get(k, lambda: pytest.fail("computed again")) for k in ("not asked", "asked", "new")] == [["b"], ["a"], ["c"]]


def test_a_damaged_value_is_computed_again_and_a_file_of_another_format_is_cold(fresh):
    import pickle

    path = fresh / "store.pickle"
    first = _kept(path)
    first.get("key", lambda: "value")
    first.save()
    stored = pickle.loads(path.read_bytes())
    stored["payload"]["key"] = b"not a pickle"
    regexcache.write_private_pickle(path, stored)
    assert _kept(path).get("key", lambda: "again") == "again"
    stored["format"] = "qa-kept-2"
    regexcache.write_private_pickle(path, stored)
    assert _kept(path).get("key", lambda: "cold") == "cold"


def test_the_previous_format_s_file_seeds_the_store_once(fresh, monkeypatch):
    """Upgrading does not make the store cold: with no file of this format yet, the file of the
    previous one (values pickled with the file) is read, and the store is written in this format."""
    legacy = regexcache._cache_file(legacy=True)
    regexcache.write_private_pickle(legacy, {"format": "qa-kept-2", "ages": {"generation": 1, "last_used": {}},
                                             "payload": {(PATTERN, 0): regex.compile(PATTERN)}})
    _forbid_compiling(monkeypatch)
    assert regexcache.compile_regex(PATTERN).search("七天无理由退货")
    regexcache._save()
    assert regexcache._cache_file().is_file()
    _new_process(monkeypatch)
    legacy.unlink()
    assert regexcache.compile_regex(PATTERN).search("七天无理由退货")  # from this format's file
