"""Prices are data: ``prices.json`` beside this module (dated, with its source), or a file the user passes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PRICES = Path(__file__).with_name("prices.json")
DEFAULT_REGION = "us-east-1"
HOURS_PER_MONTH = 730
"""AWS's own convention for monthly estimates (the pricing calculator's 730 hours)."""


class PriceError(ValueError):
    """The price file is missing something; the message names the file and what."""


@dataclass(frozen=True)
class InstancePrice:
    """One SageMaker real-time instance type."""

    name: str
    hourly: float
    vcpus: int
    gpu: bool


@dataclass(frozen=True)
class Prices:
    """One region's prices, with where they came from."""

    region: str
    recorded: str
    source: str
    lambda_gb_second: dict[str, float]
    """Architecture (``x86_64``, ``arm64``) -> $ per GB-second."""
    lambda_per_million_requests: float
    sagemaker: dict[str, InstancePrice]


def _need(data: dict[str, Any], key: str, where: str, path: Path) -> Any:
    if not isinstance(data, dict) or key not in data:
        raise PriceError(f"{path}: `{where}{key}` is missing")
    return data[key]


def load_prices(path: Path = DEFAULT_PRICES, *, region: str = DEFAULT_REGION) -> Prices:
    """Read one region of a price file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PriceError(f"{path}: no such price file") from None
    except json.JSONDecodeError as exc:
        raise PriceError(f"{path}: not valid JSON: {exc}") from None
    regions = _need(data, "regions", "", path)
    if region not in regions:
        raise PriceError(f"{path}: no prices for region `{region}`; it has {', '.join(sorted(regions))}")
    prices = regions[region]
    lam = _need(prices, "lambda", f"regions.{region}.", path)
    gb_second = _need(lam, "gb_second", f"regions.{region}.lambda.", path)
    instances = {
        name: InstancePrice(
            name=name,
            hourly=float(_need(entry, "hourly", f"regions.{region}.sagemaker.{name}.", path)),
            vcpus=int(_need(entry, "vcpus", f"regions.{region}.sagemaker.{name}.", path)),
            gpu=bool(entry.get("gpu", False)),
        )
        for name, entry in prices.get("sagemaker", {}).items()
    }
    sources = data.get("sources", {})
    return Prices(
        region=region,
        recorded=str(_need(data, "recorded", "", path)),
        source="; ".join(f"{k}: {v}" for k, v in sources.items()) if isinstance(sources, dict) else str(sources),
        lambda_gb_second={arch: float(value) for arch, value in gb_second.items()},
        lambda_per_million_requests=float(_need(lam, "per_million_requests", f"regions.{region}.lambda.", path)),
        sagemaker=instances,
    )
