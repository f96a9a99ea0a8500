"""The Lambda image's dependency list is complete: install only it (+ layers/, --no-deps) and serve a request.

Runs the handler in a fresh interpreter with ``-S`` (no site-packages) and only the install directory on its
path, as ``${LAMBDA_TASK_ROOT}`` is in the image, so a dependency missing from requirements.txt fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelrail import constants as c
from tests.support.serving_servers import ROOT, built_artifact

FUNCTION = ROOT / "functions" / "lambda_inference"
INVOKE = """
import json, sys, types
import handler, modelrail
event = json.load(open(sys.argv[1]))
context = types.SimpleNamespace(aws_request_id="req-1", function_name="f", memory_limit_in_mb=1024,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", get_remaining_time_in_millis=lambda: 9000)
response = handler.handler(event, context)
print("RESULT " + json.dumps({"response": response, "modelrail": modelrail.__file__, "path": sys.path}))
"""


def pip(*args: str | Path, timeout: int) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        *map(str, args),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.slow
def test_the_requirements_alone_serve_a_request(tmp_path: Path) -> None:
    task_root = tmp_path / "task"
    pip("--only-binary=:all:", "--target", task_root, "-r", FUNCTION / "requirements.txt", timeout=600)
    pip("--target", task_root, ROOT / "layers", timeout=300)
    shutil.copy(FUNCTION / "handler.py", task_root)
    script = tmp_path / "invoke.py"
    script.write_text(INVOKE, encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(task_root),
        "MODELRAIL_MODEL_DIR": str(built_artifact("minilm")),
        "MODELRAIL_MODEL_NAME": "minilm",
        c.ENV_LAMBDA_FUNCTION_NAME: "f",
        c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE: "1024",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-S", "-s", str(script), str(ROOT / "events" / "minilm-predict.rest-v1.json")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    outcome = json.loads(line.removeprefix("RESULT "))
    assert outcome["response"]["statusCode"] == 200, outcome["response"]["body"][:500]
    assert len(json.loads(outcome["response"]["body"])["predictions"]) == 3
    assert outcome["modelrail"].startswith(str(task_root))
    assert not any("site-packages" in entry for entry in outcome["path"])
