"""The server process's start-up heap, kept out of the cyclic garbage collector's way.

A worker imports Django, every app and their libraries before it serves: some 140,000 objects
that live as long as the process. Python's collector walks all of them in every full
collection, and the first full collection comes when a burst of requests leaves many objects
alive at once: in a booking rush each uvicorn worker ran one in the first half second of the
flood, holding the GIL (event loop and booking threads alike) for 250-450 ms (ADR 0006,
session 10). ``gc.freeze()`` moves what exists at start-up to a generation the collector
never walks; what requests allocate is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect what start-up left as garbage, then freeze the rest; returns how many objects
    are now frozen. Call once, after the application is built."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
