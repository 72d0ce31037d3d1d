"""One number per worker process of a server on one machine, summed by any of them.

Each worker claims a slot (a file of eight bytes in the directory ``python -m smartclinic.serve``
makes, memory-mapped, held with an exclusive ``flock`` as ``core.shared_log``'s rings are) and is
the only one to write it; any worker reads the others'. Admission control publishes there how
many requests each worker has admitted, so that the server's limit holds for the server as a
whole (``core.admission``): the kernel spreads connections over the workers' sockets by a hash,
and a few busy connections can land on one worker while another idles.

A slot keeps its last number when its worker dies, until the worker that replaces it claims the
slot and writes 0: meanwhile the others count it as busy, which errs towards turning requests
away, not towards overload.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
from pathlib import Path

from smartclinic.core.shared_log import claim_file, shared_directory

logger = logging.getLogger("smartclinic.shared_tally")

NUMBER = struct.Struct("<q")


class SharedTally:
    """``set`` this process's number; ``others`` is the sum of the other processes' numbers."""

    def __init__(self, directory: str | Path, *, name: str, slots: int) -> None:
        self.slots = slots
        self._own: mmap.mmap | None = None
        self._own_fd: int | None = None
        self._others: list[mmap.mmap] = []
        for index in range(slots):
            fd = os.open(Path(directory) / f"{name}.{index}", os.O_RDWR | os.O_CREAT, 0o600)
            if os.fstat(fd).st_size < NUMBER.size:
                os.ftruncate(fd, NUMBER.size)
            slot = mmap.mmap(fd, NUMBER.size)
            if self._own is None and claim_file(fd):
                self._own, self._own_fd = slot, fd  # the file stays open: closing it drops the claim
                NUMBER.pack_into(slot, 0, 0)
            else:
                os.close(fd)  # the mapping outlives the descriptor
                self._others.append(slot)
        if self._own is None:
            logger.warning("shared tally %s: all %d slots are taken; this process only reads", name, slots)

    @classmethod
    def from_environment(cls, *, name: str) -> SharedTally | None:
        shared = shared_directory()
        if shared is None:
            return None
        directory, workers = shared
        return cls(directory, name=name, slots=workers)

    def set(self, number: int) -> None:
        if self._own is not None:
            NUMBER.pack_into(self._own, 0, number)

    def others(self) -> int:
        return sum(NUMBER.unpack_from(slot, 0)[0] for slot in self._others)

    def close(self) -> None:
        """Give the slot up (the process's end does as much): another process may claim it."""
        for slot in [*self._others, *([self._own] if self._own is not None else [])]:
            slot.close()
        if self._own_fd is not None:
            os.close(self._own_fd)
        self._own = self._own_fd = None
        self._others = []
