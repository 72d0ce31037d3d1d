"""A small log shared by the worker processes of one server on one machine.

Each worker appends fixed-size records to a ring of its own (a file in a directory the server's
supervisor makes, memory-mapped) and reads what the others appended since it last looked. One
writer per ring, so no lock is shared between processes: a worker claims its ring with an
exclusive ``flock``, which the kernel releases when the process ends (a restarted worker takes
the ring over). The ring's head (records written so far) is written after the record, so a
reader never sees a record before it is complete; a reader that fell more than a ring behind
skips what was overwritten, and a reader may stop at the first record, from the newest back,
that it no longer wants (too old to matter). What goes through it are hints that a later read
of the database corrects (``booking.slot_marks``): a record lost in a lap costs freshness,
nothing else.

``python -m smartclinic.serve`` makes the directory (``SMARTCLINIC_SHARED_DIR``) with one ring
per worker; without it each process keeps to itself.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
import threading
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("smartclinic.shared_log")

ENV_DIR = "SMARTCLINIC_SHARED_DIR"
ENV_RINGS = "SMARTCLINIC_SHARED_RINGS"
HEAD = struct.Struct("<Q")


def claim_file(fd: int) -> bool:
    """Whether this process now holds the file for itself (an exclusive ``flock``, which the kernel
    drops when the process ends); ``False`` when another holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def shared_directory() -> tuple[Path, int] | None:
    """The directory ``python -m smartclinic.serve`` made for its workers, and how many workers
    share it; ``None`` in a process it did not start."""
    directory = os.environ.get(ENV_DIR)
    if not directory or not Path(directory).is_dir():
        return None
    return Path(directory), max(1, int(os.environ.get(ENV_RINGS, "1") or 1))


class _Ring:
    def __init__(self, path: Path, *, record_size: int, capacity: int) -> None:
        self.record_size = record_size
        self.capacity = capacity
        size = HEAD.size + record_size * capacity
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        self.map = mmap.mmap(self.fd, size)
        self.cursor = self.head()  # a reader starts from now

    def head(self) -> int:
        return int(HEAD.unpack_from(self.map, 0)[0])

    def close(self) -> None:
        self.map.close()
        os.close(self.fd)  # releases the claim

    def claim(self) -> bool:
        return claim_file(self.fd)

    def append(self, record: bytes) -> None:
        head = self.head()
        offset = HEAD.size + (head % self.capacity) * self.record_size
        self.map[offset : offset + self.record_size] = record
        HEAD.pack_into(self.map, 0, head + 1)  # after the record: readers see it whole

    def read_new(self, still_wanted: Callable[[bytes], bool] | None = None) -> list[bytes]:
        head = self.head()
        start = max(self.cursor, head - self.capacity + 1)  # the oldest is about to be overwritten
        records = []
        for index in range(head - 1, start - 1, -1):  # newest first, to stop at the first unwanted
            offset = HEAD.size + (index % self.capacity) * self.record_size
            record = self.map[offset : offset + self.record_size]
            if still_wanted is not None and not still_wanted(record):
                start = index + 1
                break
            records.append(record)
        records.reverse()
        trusted_from = self.head() - self.capacity + 1
        if trusted_from > start:  # lapped while reading: drop what may be torn
            records = records[trusted_from - start :]
        self.cursor = head
        return records


class SharedLog:
    """Records of ``record_size`` bytes: ``append`` to this process's ring, ``read_new`` from
    the other processes' rings (what they appended since the last call)."""

    def __init__(self, directory: str | Path, *, name: str, rings: int, record_size: int, capacity: int = 4096) -> None:
        self.record_size = record_size
        self._lock = threading.Lock()  # the booking threads of one process share its ring
        all_rings = [
            _Ring(Path(directory) / f"{name}.{index}", record_size=record_size, capacity=capacity)
            for index in range(rings)
        ]
        self.own = next((ring for ring in all_rings if ring.claim()), None)
        if self.own is None:
            logger.warning("shared log %s: all %d rings are taken; this process only reads", name, rings)
        self.others = [ring for ring in all_rings if ring is not self.own]

    @classmethod
    def from_environment(cls, *, name: str, record_size: int) -> SharedLog | None:
        shared = shared_directory()
        if shared is None:
            return None
        directory, rings = shared
        return cls(directory, name=name, rings=rings, record_size=record_size)

    def append(self, record: bytes) -> None:
        if len(record) != self.record_size:
            raise ValueError(f"a record is {self.record_size} bytes, not {len(record)}")
        if self.own is not None:
            with self._lock:
                self.own.append(record)

    def read_new(self, still_wanted: Callable[[bytes], bool] | None = None) -> list[bytes]:
        """What the other processes appended since the last call, oldest first. With
        ``still_wanted``, each ring is read from its newest record back and the reading stops at
        the first record it refuses: one that has not looked for a while (its rings full of
        records too old to matter) then reads only the recent ones, not a ring's worth of each."""
        return [record for ring in self.others for record in ring.read_new(still_wanted)]

    def close(self) -> None:
        """Give the rings up (the process's end does as much): another process may claim this one."""
        for ring in [*self.others, *([self.own] if self.own is not None else [])]:
            ring.close()
