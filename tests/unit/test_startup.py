"""A process's first start-up: no garbage collection, a short GIL switch interval, one OpenBLAS thread."""

from __future__ import annotations

import gc
import os
import sys
import types
from collections.abc import Iterator

import pytest

from modelrail import startup


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(startup, "_started", False)
    monkeypatch.setattr(startup, "limit_blas_threads", lambda: None)  # its own test below; env stays untouched
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


@pytest.mark.parametrize(
    ("environment", "numpy_imported", "expected"),
    [
        ({}, False, "1"),
        ({}, True, None),  # too late: OpenBLAS read its settings when numpy loaded
        ({"OPENBLAS_NUM_THREADS": "4"}, False, "4"),
        ({"OMP_NUM_THREADS": "4"}, False, None),  # OpenBLAS honours it: the operator chose
    ],
)
def test_openblas_gets_one_thread_unless_someone_chose(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], numpy_imported: bool, expected: str | None
) -> None:
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.setenv(name, "")  # recorded first, so whatever the test leaves is undone
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if numpy_imported:
        monkeypatch.setitem(sys.modules, "numpy", sys.modules.get("numpy") or types.ModuleType("numpy"))
    else:
        monkeypatch.delitem(sys.modules, "numpy", raising=False)

    startup.limit_blas_threads()

    assert os.environ.get("OPENBLAS_NUM_THREADS") == expected
