"""The jobs API function as Lambda's plain Python runtime runs it: its code path is the stdlib and the layer
(boto3 only once it talks to AWS), and a broken environment is a JSON 500 naming the variable, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrail.contract import jobs as contract
from modelrail.local.events import HttpRequest, build_proxy_event
from modelrail.routes import JOB_ROUTES
from tests.support.layer_function import copy_layer, run_isolated


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_layer(tmp_path_factory.mktemp("layer"))


def test_the_handler_imports_only_the_stdlib_and_answers_a_bad_environment_with_json(layer: Path) -> None:
    job = "0" * 32
    events = [
        build_proxy_event(
            HttpRequest(route.method, route.path.replace("{job_id}", job)),
            resource=route.path,
            path_parameters={"job_id": job},
        )
        for route in JOB_ROUTES
    ]
    env = {contract.ENV_JOB_BUCKET: "bucket", contract.ENV_JOB_QUEUES: "[]"}
    outcome = run_isolated(layer, "jobs", events, env)
    assert outcome["third_party"] == []
    for answer in outcome["answers"]:
        assert answer["statusCode"] == 500
        body = json.loads(answer["body"])
        assert body["code"] == "internal_error"
        assert contract.ENV_JOB_QUEUES in body["error"]
