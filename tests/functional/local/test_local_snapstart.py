"""SnapStart in local mode (zip packaging): environments are forked from one initialized snapshot process and run the
after-restore hooks, so each is its own (S3 client, random seeds), and they answer through the gateway over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelrail.constants import BUILD_DIR, MODELS_DIR
from modelrail.contract import functions as fn
from modelrail.local import invoke
from modelrail.local.artifacts import resolve_models
from modelrail.local.deployment import LocalDeployment, LocalModel
from modelrail.local.gateway import Gateway
from modelrail.local.lambda_function import LambdaFunction
from modelrail.local.processes import bind_loopback
from modelrail.local.threaded_server import ThreadedServer
from modelrail.manifest import Packaging
from tests.support.bundled_deployment import ROOT, skip_unless_built

MODEL = "digits"
EVENT = ROOT / "events" / "digits-predict.rest-v1.json"

PROBE = """
import importlib.util
import os
import random
import sys
import time

import numpy.random

# The real handler module, imported as Lambda imports it (its directory first on the path).
sys.path.insert(0, os.path.dirname(HANDLER_FILE))
spec = importlib.util.spec_from_file_location("handler", HANDLER_FILE)
real = importlib.util.module_from_spec(spec)
sys.modules["handler"] = real
spec.loader.exec_module(real)
loader = real.app.state.loader
SNAPSHOT_CLIENT = loader.s3_client  # made during init; kept here so a new client cannot reuse its address
SNAPSHOT_PID = os.getpid()


def handler(event, context):
    if "probe" not in event:
        return real.handler(event, context)
    time.sleep(event["probe"])  # keeps this environment busy, so a concurrent event gets another one
    client = loader.s3_client
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "snapshot_pid": SNAPSHOT_PID,
        "fresh_client": client is not None and client is not SNAPSHOT_CLIENT,
        "loaded_before_any_request": loader.loaded is not None,
        "random": random.random(),
        "numpy": float(numpy.random.random()),
    }
"""


def zip_model() -> LocalModel:
    """The bundled CPU model, deployed with ``packaging: zip``."""
    skip_unless_built(MODEL)
    [model] = resolve_models([MODEL], models_dir=ROOT / MODELS_DIR, build_dir=ROOT / BUILD_DIR, say=print)
    deploy = model.manifest.deploy.model_copy(update={"packaging": Packaging.ZIP})
    return LocalModel(model.manifest.model_copy(update={"deploy": deploy}), {model.manifest.version: model.artifact})


@pytest.fixture(scope="module")
def deployment() -> Iterator[tuple[LocalDeployment, io.StringIO]]:
    output = io.StringIO()
    model = zip_model()
    deployment = LocalDeployment([model], root=ROOT, catalog_manifests=[model.manifest], output=output)
    deployment.start(warm=False)
    try:
        yield deployment, output
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def base_url(deployment: tuple[LocalDeployment, io.StringIO]) -> Iterator[str]:
    local, _ = deployment
    sock = bind_loopback()
    port = sock.getsockname()[1]
    gateway = Gateway(local.route_table(), local.integrations(), api_key=None, port=port, output=io.StringIO())
    with ThreadedServer(gateway, sock) as url:
        yield url


def log_records(text: str, label: str) -> list[dict[str, Any]]:
    """The JSON log lines local mode forwarded under ``[label]``."""
    records = []
    for line in text.splitlines():
        prefix = f"[{label}] "
        if line.startswith(prefix) and line[len(prefix) :].startswith("{"):
            records.append(json.loads(line[len(prefix) :]))
    return records


def test_restored_environment_answers_over_http_through_the_gateway(
    base_url: str, deployment: tuple[LocalDeployment, io.StringIO]
) -> None:
    local, output = deployment
    function = local.functions[MODEL]
    assert function.snapshot is not None
    body = json.loads(EVENT.read_text(encoding="utf-8"))["body"]
    response = httpx.post(f"{base_url}/v1/models/{MODEL}/predict", content=body, timeout=60)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["model"] == MODEL
    assert document["predictions"][0]["label"] == "3"  # the sample event's digit
    # It came from an environment restored from the snapshot process, never from the snapshot process itself.
    [environment] = function.environments
    assert environment.restore_ms is not None
    assert environment.pid is not None
    assert environment.pid != function.snapshot.pid
    text = output.getvalue()
    # The restore is logged, once per environment, and Lambda's REPORT line names its duration.
    restores = [r for r in log_records(text, MODEL) if r.get("message") == "restored from snapshot"]
    assert len(restores) == 1
    assert restores[0]["logger"] == "modelrail.snapstart"
    assert restores[0]["pid"] == environment.pid
    assert restores[0]["snapshot_age_s"] >= 0
    assert "Restore Duration:" in text
    assert "Init Duration:" not in text
    # The snapshot process loaded the model during its init, before any request.
    snapshot_lines = log_records(text, f"{MODEL} snapshot")
    assert any(r.get("message") == "model loaded for the snapshot" for r in snapshot_lines)
    # Metrics: the cold start is the restored environment's first request, not something the snapshot carries.
    assert not [r for r in snapshot_lines if "cold_start" in r or r.get("message") == "request"]
    assert [r["cold_start"] for r in log_records(text, MODEL) if "cold_start" in r] == [1]


@pytest.fixture
def probe(deployment: tuple[LocalDeployment, io.StringIO], tmp_path: Path) -> Iterator[LambdaFunction]:
    """The zip function's own configuration (its bucket, artifact and env), with a handler that looks inside it."""
    local, _ = deployment
    code = tmp_path / "probe.py"
    code.write_text(f"HANDLER_FILE = {str(ROOT / fn.LAMBDA_HANDLER.partition(':')[0])!r}\n{PROBE}", encoding="utf-8")
    config = dataclasses.replace(
        local.functions[MODEL].config, handler=f"{code}:handler", tmp_root=tmp_path / "tmp", timeout_s=3.0
    )
    function = LambdaFunction(config, output=io.StringIO())
    function.start()
    function.wait_ready()
    yield function
    function.close()


def probe_events(function: LambdaFunction, *sleeps: float) -> list[Any]:
    """Send the probe events at once; their answers (or Lambda's error documents)."""

    async def send() -> list[Any]:
        async with httpx.AsyncClient() as client:
            return list(await asyncio.gather(*(function.invoke({"probe": s}, client=client) for s in sleeps)))

    return [json.loads(invocation.payload) for invocation in asyncio.run(send())]


def test_each_restored_environment_runs_the_after_restore_hooks(probe: LambdaFunction) -> None:
    # Two events at once: the second cannot wait for the busy first environment, so it gets another.
    answers = probe_events(probe, 1.0, 0.0)
    function = probe
    assert function.snapshot is not None
    first, second = answers
    assert first["pid"] != second["pid"]
    for answer in answers:
        assert answer["snapshot_pid"] == function.snapshot.pid
        assert answer["pid"] != answer["snapshot_pid"]  # the snapshot process never answers
        assert answer["ppid"] == answer["snapshot_pid"]  # forked from it
        assert answer["loaded_before_any_request"] is True  # the model came with the snapshot
        assert answer["fresh_client"] is True  # not the client the init made (closed before the snapshot)
    # Reseeded after each restore: forks of one process would otherwise draw the very same numbers.
    assert first["random"] != second["random"]
    assert first["numpy"] != second["numpy"]


def test_modelrail_invoke_restores_a_zip_model_from_its_snapshot(tmp_path: Path) -> None:
    skip_unless_built(MODEL)
    models = tmp_path / "models"
    shutil.copytree(ROOT / MODELS_DIR / MODEL, models / MODEL)
    manifest = models / MODEL / "model.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "\ndeploy:\n" in text
    manifest.write_text(text.replace("\ndeploy:\n", "\ndeploy:\n  packaging: zip\n", 1), encoding="utf-8")
    args = argparse.Namespace(
        function=MODEL, event=str(EVENT), models_dir=models, build_dir=ROOT / BUILD_DIR, base_path=None
    )
    stdout, output = io.StringIO(), io.StringIO()
    assert invoke.run(args, stdout=stdout, output=output) == 0, output.getvalue()[-3000:]
    response = json.loads(stdout.getvalue())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["predictions"][0]["label"] == "3"
    log = output.getvalue()
    assert f"{MODEL}: SnapStart snapshot taken after" in log
    assert "Restore Duration:" in log
    assert any(r.get("message") == "restored from snapshot" for r in log_records(log, MODEL))


def test_a_restored_environment_that_times_out_ends_alone_and_another_is_restored(probe: LambdaFunction) -> None:
    [first] = probe_events(probe, 0.0)
    [timed_out] = probe_events(probe, 10.0)  # past the 3 s timeout: Lambda ends that environment
    assert timed_out["errorType"] == "Sandbox.Timedout"
    [after] = probe_events(probe, 0.0)
    assert after["pid"] != first["pid"]  # a new environment, restored from the same snapshot
    assert after["ppid"] == first["snapshot_pid"]
    assert probe.snapshot is not None
    assert probe.snapshot.alive()
    assert [environment.pid for environment in probe.environments] == [after["pid"]]
