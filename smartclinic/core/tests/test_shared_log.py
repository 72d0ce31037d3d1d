"""The log the worker processes of one server share: a ring each, read by the others."""

from __future__ import annotations

import pytest

from smartclinic.core.shared_log import ENV_DIR, ENV_RINGS, SharedLog


def _log(directory, rings: int = 2, capacity: int = 8) -> SharedLog:
    return SharedLog(directory, name="test", rings=rings, record_size=4, capacity=capacity)


def test_each_process_reads_what_the_others_appended_once(tmp_path):
    first, second = _log(tmp_path), _log(tmp_path)  # two "workers": each claims a ring
    assert first.own is not None and second.own is not None and first.own.map is not second.own.map

    first.append(b"aaaa")
    first.append(b"bbbb")
    second.append(b"cccc")

    assert second.read_new() == [b"aaaa", b"bbbb"]
    assert first.read_new() == [b"cccc"]  # not its own
    assert second.read_new() == [] and first.read_new() == []  # only what is new
    first.append(b"dddd")
    assert second.read_new() == [b"dddd"]


def test_a_process_that_finds_every_ring_taken_only_reads(tmp_path, caplog):
    first, second = _log(tmp_path), _log(tmp_path)
    third = _log(tmp_path)

    assert third.own is None and "all 2 rings are taken" in caplog.text
    third.append(b"zzzz")  # nowhere to write: dropped
    first.append(b"aaaa")
    second.append(b"bbbb")
    assert sorted(third.read_new()) == [b"aaaa", b"bbbb"]
    assert first.read_new() == [b"bbbb"]  # and nothing from the third


def test_a_ring_given_up_is_claimed_by_the_next_process(tmp_path):
    first, second = _log(tmp_path), _log(tmp_path)
    second.close()  # as when a worker dies: the kernel drops its lock

    restarted = _log(tmp_path)

    assert restarted.own is not None
    restarted.append(b"new!")
    assert first.read_new() == [b"new!"]


def test_a_reader_more_than_a_ring_behind_gets_the_newest_it_can_trust(tmp_path):
    writer, reader = _log(tmp_path, capacity=4), _log(tmp_path, capacity=4)
    for number in range(10):
        writer.append(f"r{number:03}".encode())

    # The oldest of the last four may be half overwritten by the next append: left out.
    assert reader.read_new() == [b"r007", b"r008", b"r009"]


def test_a_reader_may_stop_at_the_first_record_it_no_longer_wants_from_the_newest_back(tmp_path):
    writer, reader = _log(tmp_path), _log(tmp_path)
    for record in (b"old1", b"new1", b"old2", b"new2", b"new3"):
        writer.append(record)

    # Newest first: new3, new2, then old2 stops the reading (new1, behind it, is not read).
    assert reader.read_new(still_wanted=lambda record: record.startswith(b"new")) == [b"new2", b"new3"]
    assert reader.read_new() == []  # what was passed over is not read later either
    writer.append(b"new4")
    assert reader.read_new(still_wanted=lambda record: record.startswith(b"new")) == [b"new4"]


def test_records_have_the_size_the_log_was_made_for(tmp_path):
    with pytest.raises(ValueError, match="4 bytes"):
        _log(tmp_path).append(b"too long")


def test_it_is_there_only_where_the_server_made_the_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    assert SharedLog.from_environment(name="test", record_size=4) is None

    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_RINGS, "3")
    log = SharedLog.from_environment(name="test", record_size=4)
    assert log is not None and len(log.others) == 2
    log.close()
