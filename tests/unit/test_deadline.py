"""The fetch's deadline follows the function's timeout, so a slow S3 is answered before Lambda's own timeout."""

from __future__ import annotations

import pytest

from modelrail.deadline import DEFAULT_FETCH_BUDGET_S, Deadline, after_fetch_reserve_s, fetch_budget_s, s3_timeouts_s
from modelrail.settings import Settings


@pytest.mark.parametrize("timeout_s", [1, 3, 10, 15, 20, 28, 900])
def test_budget_and_one_more_s3_call_end_inside_the_timeout(timeout_s: float) -> None:
    budget = fetch_budget_s(timeout_s)
    connect, read = s3_timeouts_s(budget)
    assert 0 < budget < timeout_s
    assert after_fetch_reserve_s(timeout_s) >= min(2.0, timeout_s / 2)  # room to build the session and answer
    assert connect <= 2.0
    assert read <= 5.0


def test_the_issues_15_s_function_gives_up_on_s3_with_time_to_answer() -> None:
    assert fetch_budget_s(15) == pytest.approx(11.25)
    assert fetch_budget_s(None) == DEFAULT_FETCH_BUDGET_S


def test_settings_derive_the_budget_from_the_function_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELRAIL_FUNCTION_TIMEOUT_S", "20")
    assert Settings().resolved_fetch_budget_s == 15.0
    assert Settings(fetch_budget_s=4).resolved_fetch_budget_s == 4.0


def test_deadline_arithmetic() -> None:
    soon, later = Deadline.after(1), Deadline.after(100)
    assert soon.sooner(later) is soon
    assert later.sooner(soon) is soon
    assert Deadline.after(-5).expired
    assert 99 < later.remaining() <= 100
