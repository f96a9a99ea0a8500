"""The price arithmetic of `modelrail tune`, against cases computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrail.tune.cost import (
    break_even_rps,
    lambda_cost_per_million,
    lambda_cost_per_request,
    sagemaker_cost_per_million,
    sagemaker_idle_per_month,
)
from modelrail.tune.prices import DEFAULT_PRICES, InstancePrice, PriceError, Prices, load_prices

PRICES = Prices(
    region="test-1",
    recorded="2026-12-01",
    source="hand-made",
    lambda_gb_second={"x86_64": 0.0000166667, "arm64": 0.0000133334},
    lambda_per_million_requests=0.20,
    sagemaker={},
)
C5_XLARGE = InstancePrice(name="ml.c5.xlarge", hourly=0.204, vcpus=4, gpu=False)


def test_lambda_bills_duration_rounded_up_to_the_millisecond_times_gb() -> None:
    # 10.2 ms is billed as 11 ms; 1024 MB is 1 GB: 0.011 s * 1 GB * $0.0000166667 = $1.833337e-7, + $0.20 / 1M.
    assert lambda_cost_per_request(10.2, 1024, PRICES) == pytest.approx(1.833337e-7 + 2e-7, rel=1e-9)
    assert lambda_cost_per_million(10.2, 1024, PRICES) == pytest.approx(0.3833337, rel=1e-6)
    # 512 MB, 1 ms on arm64: 0.001 * 0.5 * 0.0000133334 = 6.6667e-9 per request
    assert lambda_cost_per_million(0.4, 512, PRICES, arch="arm64") == pytest.approx(0.0066667 + 0.20, rel=1e-5)


def test_sagemaker_costs_per_request_depend_on_how_busy_it_is() -> None:
    # $0.204 an hour serving 100 req/s flat out: 360,000 requests an hour -> $0.5667 per 1M; half busy: double.
    assert sagemaker_cost_per_million(C5_XLARGE, 100) == pytest.approx(0.204 / 360_000 * 1e6)
    assert sagemaker_cost_per_million(C5_XLARGE, 100, utilisation=0.5) == pytest.approx(2 * 0.204 / 360_000 * 1e6)
    assert sagemaker_idle_per_month(C5_XLARGE) == pytest.approx(0.204 * 730)
    with pytest.raises(ValueError, match="utilisation"):
        sagemaker_cost_per_million(C5_XLARGE, 100, utilisation=0)


def test_break_even_is_where_an_always_on_instance_costs_less_within_its_capacity() -> None:
    per_request = lambda_cost_per_request(10.2, 1024, PRICES)  # $3.833337e-7
    crossing = 0.204 / 3600 / per_request  # 147.8 req/s
    assert break_even_rps(per_request, C5_XLARGE, throughput_rps=200) == pytest.approx(crossing)
    assert crossing == pytest.approx(147.83, abs=0.01)
    # one instance cannot serve 147.8 req/s at 100 req/s: more instances never cost less per request
    assert break_even_rps(per_request, C5_XLARGE, throughput_rps=100) is None


def test_the_shipped_price_file_is_dated_and_sourced() -> None:
    prices = load_prices(DEFAULT_PRICES)
    assert prices.recorded == "2026-12-01"
    assert "aws.amazon.com/lambda/pricing" in prices.source
    assert "aws.amazon.com/sagemaker/pricing" in prices.source
    assert set(prices.lambda_gb_second) == {"x86_64", "arm64"}
    assert any(i.gpu for i in prices.sagemaker.values())
    assert any(not i.gpu for i in prices.sagemaker.values())


def test_a_price_file_without_the_region_names_what_it_has(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"recorded": "x", "regions": {"eu-west-1": {}}}), encoding="utf-8")
    with pytest.raises(PriceError, match="no prices for region `us-east-1`; it has eu-west-1"):
        load_prices(path)
    with pytest.raises(PriceError, match=r"`regions\.eu-west-1\.lambda` is missing"):
        load_prices(path, region="eu-west-1")


def test_arm64_is_described_not_guessed() -> None:
    from modelrail.tune.report import arm64_note

    note = arm64_note(load_prices(DEFAULT_PRICES))
    assert note is not None
    # $0.0000133334 / $0.0000166667 = 0.80: cheaper only if it takes at most 1.25x as long
    assert "0.80x" in note
    assert "1.25x" in note
