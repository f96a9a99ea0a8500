"""The tune chart as a PNG, drawn with Pillow (already a runtime dependency): $ per 1M vs p99, per memory size."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 900, 560
LEFT, RIGHT, TOP, BOTTOM = 90, 40, 50, 70


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count
    return [low + step * i for i in range(count + 1)]


def draw_chart(
    path: Path,
    *,
    title: str,
    lambda_rows: list[dict[str, Any]],
    arch: str,
    sagemaker_line: tuple[str, float] | None,
    recommended_mb: int | None,
) -> Path:
    """Write the chart; ``sagemaker_line`` is (label, $ per 1M) drawn across as the break-even reference."""
    from PIL import Image, ImageDraw

    points = [(row["p99_ms"], row["per_million"][arch], row["memory_mb"], row["method"]) for row in lambda_rows]
    costs = [cost for _, cost, _, _ in points] + ([sagemaker_line[1]] if sagemaker_line else [])
    x_low, x_high = 0.0, max(p for p, _, _, _ in points) * 1.1
    y_low, y_high = 0.0, max(costs) * 1.15
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)

    def at(x: float, y: float) -> tuple[float, float]:
        px = LEFT + (x - x_low) / (x_high - x_low) * (WIDTH - LEFT - RIGHT)
        py = HEIGHT - BOTTOM - (y - y_low) / (y_high - y_low) * (HEIGHT - TOP - BOTTOM)
        return px, py

    draw.text((LEFT, 15), title, fill="black")
    draw.line([at(x_low, y_low), at(x_high, y_low)], fill="black")
    draw.line([at(x_low, y_low), at(x_low, y_high)], fill="black")
    for tick in _ticks(x_low, x_high):
        x, y = at(tick, y_low)
        draw.line([(x, y), (x, y + 5)], fill="black")
        draw.text((x - 12, y + 8), f"{tick:.0f}" if x_high > 20 else f"{tick:.1f}", fill="black")
    for tick in _ticks(y_low, y_high):
        x, y = at(x_low, tick)
        draw.line([(x - 5, y), (x, y)], fill="black")
        draw.text((8, y - 6), f"${tick:.2f}", fill="black")
    draw.text((WIDTH // 2 - 80, HEIGHT - 30), "p99 latency at batch 1 (ms)", fill="black")
    draw.text((8, TOP - 25), "$ per 1M requests", fill="black")
    if sagemaker_line is not None:
        label, cost = sagemaker_line
        _, y = at(x_low, cost)
        for start in range(LEFT, WIDTH - RIGHT, 12):
            draw.line([(start, y), (min(start + 6, WIDTH - RIGHT), y)], fill="darkorange", width=2)
        draw.text((LEFT + 8, y - 16), label, fill="darkorange")
    ordered = sorted(points, key=lambda p: p[2])
    draw.line([at(p, c) for p, c, _, _ in ordered], fill="steelblue", width=2)
    for p99, cost, memory_mb, method in ordered:
        x, y = at(p99, cost)
        radius = 6 if memory_mb == recommended_mb else 4
        fill = "seagreen" if memory_mb == recommended_mb else ("steelblue" if method.startswith("measured") else "gray")
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill)
        draw.text(
            (x + 7, y - 7), f"{memory_mb} MB" + (" (modelled)" if method.startswith("modelled") else ""), fill=fill
        )
    if not math.isfinite(y_high):
        raise ValueError("nothing to draw")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return path
