"""How tune models the vCPU shares this machine cannot run."""

from __future__ import annotations

import pytest

from modelrail.tune.measure import LambdaRow, _modelled, fit_serial_parallel, vcpu_share


def test_lambda_vcpu_share_follows_memory_up_to_six() -> None:
    assert vcpu_share(1769) == 1
    assert vcpu_share(512) == pytest.approx(0.2894, abs=1e-4)
    # CPU time is proportional to memory: 10,240 MB (Lambda's maximum, which has 6 vCPUs) gets 5.79 vCPU-seconds
    # a second by that rule, and never more than 6
    assert vcpu_share(10240) == pytest.approx(5.789, abs=1e-3)
    assert vcpu_share(8845) == pytest.approx(5.0)


def test_serial_parallel_fit_recovers_a_known_curve() -> None:
    # t = 2 + 8 / s at s = 1, 2 -> 10, 6
    a, b = fit_serial_parallel([(1.0, 10.0), (2.0, 6.0)])
    assert (a, b) == pytest.approx((2.0, 8.0))
    assert a + b / 4 == pytest.approx(4.0)


def test_modelled_rows_extend_the_measured_ones_and_say_so() -> None:
    rows = [
        LambdaRow(1769, 1.0, "measured (cgroup quota)", 900.0, {1: {"p50_ms": 10.0, "p99_ms": 20.0, "mean_ms": 11.0}}),
        LambdaRow(3538, 2.0, "measured (cgroup quota)", 800.0, {1: {"p50_ms": 6.0, "p99_ms": 12.0, "mean_ms": 6.6}}),
    ]
    row = _modelled(7076, rows, [1])
    assert row.batch[1]["p50_ms"] == pytest.approx(4.0)  # 2 + 8 / 4
    assert row.batch[1]["p99_ms"] == pytest.approx(12.0 * 4.0 / 6.0)
    assert row.method.startswith("modelled")
    assert row.cold_ms == 800.0
