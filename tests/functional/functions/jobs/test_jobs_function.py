"""The jobs API function as Lambda's plain Python runtime runs it: its code path is the stdlib and the layer
(boto3 only once it talks to AWS), and a broken environment is a JSON 500 naming the variable, never a crash."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelrail.contract import jobs as contract
from modelrail.local.events import HttpRequest, build_proxy_event
from modelrail.routes import JOB_ROUTES

ROOT = Path(__file__).resolve().parents[4]
RUNNER = """
import json, sys
layer, code = sys.argv[1], sys.argv[2]
sys.path[:0] = [layer, code]
import handler
answers = [handler.handler(event, None) for event in json.load(sys.stdin)]
ours = {"modelrail", "handler", "__main__"}
third_party = sorted({name.split(".")[0] for name in sys.modules} - set(sys.stdlib_module_names) - ours)
print(json.dumps({"answers": answers, "third_party": third_party}))
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layer") / "python"
    shutil.copytree(ROOT / "layers" / "modelrail", target / "modelrail", ignore=shutil.ignore_patterns("__pycache__"))
    return target


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
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, str(layer), str(ROOT / "functions" / "jobs")],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={contract.ENV_JOB_BUCKET: "bucket", contract.ENV_JOB_QUEUES: "[]", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["third_party"] == []
    for answer in outcome["answers"]:
        assert answer["statusCode"] == 500
        body = json.loads(answer["body"])
        assert body["code"] == "internal_error"
        assert contract.ENV_JOB_QUEUES in body["error"]
