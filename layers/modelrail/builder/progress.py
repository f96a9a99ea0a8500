"""Progress lines for slow build steps, on stderr so stdout stays machine-readable."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(model: str, message: str) -> None:
    """Print one progress line for ``model``."""
    print(f"[{model}] {message}", file=sys.stderr, flush=True)


@contextmanager
def step(model: str, what: str) -> Iterator[None]:
    """Announce a slow step, then how long it took (or that it failed)."""
    say(model, f"{what} ...")
    start = time.perf_counter()
    try:
        yield
    except BaseException:
        say(model, f"{what} failed after {time.perf_counter() - start:.1f} s")
        raise
    say(model, f"{what} done in {time.perf_counter() - start:.1f} s")
