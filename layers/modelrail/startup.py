"""Start-up housekeeping: the cyclic garbage collector paused while a process builds what it keeps."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_started = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause cyclic garbage collection during a process's first start-up, then freeze what it built.

    Imports and app construction allocate a few hundred thousand objects that live as long as the
    process. The collector would scan them over and over while they are made, about a tenth of a cold
    start. Afterwards ``gc.freeze()`` moves them to the permanent generation, which later collections
    skip; reference counting still frees them as usual. Only a process's first start-up does this, so a
    process that builds many apps (tests) never freezes the garbage of earlier ones.
    """
    global _started  # noqa: PLW0603 - once per process, by design
    if _started or not gc.isenabled():
        yield
        return
    _started = True
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
