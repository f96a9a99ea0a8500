"""A process's first start-up: no garbage collection and a short GIL switch interval, then both put back."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from modelrail import startup


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(startup, "_started", False)
    frozen = gc.get_freeze_count()
    interval = sys.getswitchinterval()
    yield
    if gc.get_freeze_count() > frozen:
        gc.unfreeze()  # hand the test process's objects back to the collector
    gc.enable()
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("fresh_process")
def test_first_start_up_runs_without_collections_then_freezes_what_it_built() -> None:
    interval = sys.getswitchinterval()
    with startup.first_start_up():
        assert not gc.isenabled()
        assert sys.getswitchinterval() == pytest.approx(startup.START_UP_SWITCH_INTERVAL_S)
        built = [[index] for index in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)
    assert sys.getswitchinterval() == interval


@pytest.mark.usefixtures("fresh_process")
def test_the_interpreter_is_put_back_when_start_up_fails() -> None:
    interval = sys.getswitchinterval()
    with pytest.raises(RuntimeError), startup.first_start_up():
        raise RuntimeError("the app could not be built")
    assert gc.isenabled()
    assert sys.getswitchinterval() == interval


@pytest.mark.usefixtures("fresh_process")
def test_later_start_ups_in_the_same_process_leave_the_interpreter_alone() -> None:
    with startup.first_start_up():
        pass
    gc.unfreeze()
    interval = sys.getswitchinterval()
    with startup.first_start_up():
        assert gc.isenabled()
        assert sys.getswitchinterval() == interval
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("fresh_process")
def test_a_collector_the_process_turned_off_stays_off_and_nothing_is_frozen() -> None:
    gc.disable()
    frozen = gc.get_freeze_count()
    with startup.first_start_up():
        kept = [[index] for index in range(1000)]
    assert not gc.isenabled()
    assert gc.get_freeze_count() == frozen
    assert len(kept) == 1000
