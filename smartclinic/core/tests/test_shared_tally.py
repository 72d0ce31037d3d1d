"""The numbers the worker processes of one server publish to each other: a slot each."""

from __future__ import annotations

from smartclinic.core.shared_log import ENV_DIR, ENV_RINGS
from smartclinic.core.shared_tally import SharedTally


def _tally(directory, slots: int = 2) -> SharedTally:
    return SharedTally(directory, name="test", slots=slots)


def test_each_process_sees_the_sum_of_the_others_numbers(tmp_path):
    first, second, third = _tally(tmp_path, 3), _tally(tmp_path, 3), _tally(tmp_path, 3)

    first.set(3)
    second.set(4)

    assert third.others() == 7
    assert first.others() == 4 and second.others() == 3  # not its own
    first.set(0)
    assert third.others() == 4


def test_a_slot_given_up_is_claimed_by_the_next_process_and_starts_at_zero(tmp_path):
    first, second = _tally(tmp_path), _tally(tmp_path)
    second.set(5)
    second.close()  # as when a worker dies: its number stays until another takes the slot
    assert first.others() == 5

    restarted = _tally(tmp_path)

    assert first.others() == 0
    restarted.set(2)
    assert first.others() == 2


def test_a_process_that_finds_every_slot_taken_only_reads(tmp_path, caplog):
    first, second = _tally(tmp_path), _tally(tmp_path)
    first.set(1)
    second.set(2)

    third = _tally(tmp_path)
    third.set(9)  # nowhere to write

    assert "all 2 slots are taken" in caplog.text
    assert third.others() == 3  # every slot is another's
    assert first.others() == 2


def test_from_the_environment_the_server_names_the_directory_and_the_workers(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)
    assert SharedTally.from_environment(name="test") is None  # not started by the server

    monkeypatch.setenv(ENV_DIR, str(tmp_path))
    monkeypatch.setenv(ENV_RINGS, "3")
    tally = SharedTally.from_environment(name="test")

    assert tally is not None and tally.slots == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == ["test.0", "test.1", "test.2"]
