"""`modelrail tune` end to end on the built digits model: measured and modelled rows, prices, the chart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.serving_servers import ROOT, built_artifact


@pytest.fixture(scope="module")
def tune_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    artifact = built_artifact("digits")
    build_dir = tmp_path_factory.mktemp("build")
    shutil.copytree(artifact, build_dir / "digits" / artifact.name)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "modelrail.cli", "tune", "digits", "--memory", "512,3538,10240", "--calls", "20"),
            *("--p99-ms", "500", "--json", "--build-dir", str(build_dir)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout), build_dir / "digits" / artifact.name


@pytest.mark.slow
def test_tune_measures_what_it_can_and_models_the_rest(tune_result: tuple[dict, Path]) -> None:
    result, _ = tune_result
    rows = {row["memory_mb"]: row for row in result["lambda"]}
    assert set(rows) == {512, 3538, 10240}
    assert rows[512]["method"].startswith("measured")  # 0.29 vCPU: a CPU quota on this 2-core machine
    assert rows[512]["intra_op_threads"] == 1  # what the runtime picks for 512 MB
    assert rows[10240]["method"].startswith("modelled")  # 5.79 vCPUs: more than this machine has
    for row in rows.values():
        assert row["p99_ms"] >= row["p50_ms"] > 0
        assert row["cold_start_ms"] > 0
        # $ per 1M = mean duration (billed in whole ms) x GB x price + $0.20 of requests
        assert row["per_million"]["x86_64"] > 0.20
    assert set(rows[512]["batches"]) == {"1", "8"}  # digits serves batches of 8: both are timed


@pytest.mark.slow
def test_tune_prices_sagemaker_and_recommends(tune_result: tuple[dict, Path]) -> None:
    result, artifact = tune_result
    sagemaker = result["sagemaker"]
    assert sagemaker["measured_rps_here"] > 0
    assert all(not row["gpu"] for row in sagemaker["rows"])  # a CPU model is compared with CPU instances
    assert {row["instance_type"] for row in sagemaker["rows"]} >= {"ml.c5.xlarge"}
    recommendation = result["recommendation"]
    meeting = [row for row in result["lambda"] if row["p99_ms"] <= 500]
    cheapest = min(meeting, key=lambda row: row["per_million"]["x86_64"])
    assert recommendation["memory_mb"] == cheapest["memory_mb"]
    assert result["prices"]["recorded"] == "2026-12-01"
    assert (artifact / "tune.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((artifact / "tune.json").read_text())["recommendation"] == recommendation


def test_tune_refuses_an_unbuilt_model_and_bad_sizes(tmp_path: Path) -> None:
    def tune(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "modelrail.cli", "tune", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    unbuilt = tune("digits", "--build-dir", str(tmp_path))
    assert unbuilt.returncode == 1
    assert "digits" in unbuilt.stderr
    assert "run `modelrail build digits`" in unbuilt.stderr
    bad = tune("digits", "--memory", "64")
    assert bad.returncode == 2
    assert "Lambda memory sizes are 128 to 10240 MB" in bad.stderr
