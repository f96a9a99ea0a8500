"""The garbage collector during a process's first start-up: paused, then what start-up built is frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from modelrail import startup


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(startup, "_started", False)
    frozen = gc.get_freeze_count()
    yield
    if gc.get_freeze_count() > frozen:
        gc.unfreeze()  # hand the test process's objects back to the collector
    gc.enable()


@pytest.mark.usefixtures("fresh_process")
def test_first_start_up_runs_without_collections_then_freezes_what_it_built() -> None:
    with startup.collector_paused():
        assert not gc.isenabled()
        built = [[index] for index in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)


@pytest.mark.usefixtures("fresh_process")
def test_the_collector_comes_back_when_start_up_fails() -> None:
    with pytest.raises(RuntimeError), startup.collector_paused():
        raise RuntimeError("the app could not be built")
    assert gc.isenabled()


@pytest.mark.usefixtures("fresh_process")
def test_later_start_ups_in_the_same_process_leave_the_collector_alone() -> None:
    with startup.collector_paused():
        pass
    gc.unfreeze()
    with startup.collector_paused():
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0
