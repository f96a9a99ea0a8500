"""Start-up housekeeping: how the interpreter runs while a process builds what it keeps."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

START_UP_SWITCH_INTERVAL_S = 0.001
"""How long the importing thread may hold the GIL while another waits for it, during start-up (default 5 ms)."""

_started = False


@contextmanager
def first_start_up() -> Iterator[None]:
    """Tune the interpreter for a process's first start-up; the collector and the switch interval come back after.

    The cyclic garbage collector is paused: imports and app construction allocate a few hundred
    thousand objects that live as long as the process, and the collector would scan them over and over
    while they are made (about a tenth of a cold start). Afterwards ``gc.freeze()`` moves them to the
    permanent generation, which later collections skip; reference counting still frees them as usual.

    The GIL switch interval is shortened: the main thread imports for most of start-up while the
    download threads need the GIL for a moment after each read, each thread start and each future, and
    every such moment otherwise waits up to 5 ms.

    numpy's OpenBLAS gets one thread unless the environment says otherwise (``OPENBLAS_NUM_THREADS`` or
    ``OMP_NUM_THREADS``): its worker thread burns about 100 ms of CPU while numpy imports, which a Lambda
    function's vCPU share pays for, and the runtime leaves matrix work to ONNX Runtime's own threads.

    Only a process's first start-up does this, so a process that builds many apps (tests) never freezes
    the garbage of earlier ones.
    """
    global _started  # noqa: PLW0603 - once per process, by design
    if _started:
        yield
        return
    _started = True
    limit_blas_threads()
    collecting = gc.isenabled()
    interval = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(min(interval, START_UP_SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if collecting:
            gc.freeze()
            gc.enable()


def limit_blas_threads() -> None:
    """One OpenBLAS thread, unless numpy is already imported or the environment chose a number."""
    if "numpy" not in sys.modules and not {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"} & os.environ.keys():
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
