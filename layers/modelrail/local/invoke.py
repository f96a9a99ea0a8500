"""``modelrail invoke``: one event file through one function, the docker-free twin of ``sam local invoke``.

The event goes through the same pieces as ``modelrail local up``: the embedded S3 holding the model, the
function's own runtime process and environment. A GPU model's event (REST or HTTP API payload 2.0) goes through
the SageMaker integration the stack builds, and its HTTP answer is printed in Lambda's proxy-response shape.
``--base-path`` is the stack's ``base_path`` context: events whose path starts with a custom domain's mapping.
The response JSON goes to stdout; progress and the function's logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

import httpx

from modelrail.local.artifacts import load_manifests, resolve_models
from modelrail.local.deployment import DeploymentError, LocalDeployment
from modelrail.local.events import proxy_response_document, request_from_event
from modelrail.local.lambda_integration import RequestContext
from modelrail.local.routing import CATALOG
from modelrail.manifest import Target
from modelrail.routes import BasePathError, normalize_base_path


class EventError(DeploymentError):
    """The event file cannot be used."""


def read_event(path: str) -> dict[str, Any]:
    """A JSON object from a file, or from stdin for ``-``."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EventError(f"cannot read event file {path}: {exc.strerror}") from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventError(f"{path} is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise EventError(f"{path} must hold a JSON object (an API Gateway event), not {type(event).__name__}")
    return event


async def _invoke_endpoint(deployment: LocalDeployment, name: str, event: dict[str, Any]) -> dict[str, Any]:
    request = request_from_event(event, base_path=deployment.base_path)
    match = deployment.route_table().match(request.method, request.path)
    if match is None or match.compute != name:
        raise EventError(f"{request.method} {request.path} is not a route of model {name}")
    model = next(model for model in deployment.models if model.name == name)
    integration = deployment.release_integration(model)
    async with httpx.AsyncClient() as client:
        context = RequestContext(request_id=str(uuid.uuid4()), port=0, client=client)
        return proxy_response_document(await integration(request, match, context))


async def _invoke_function(deployment: LocalDeployment, name: str, event: dict[str, Any]) -> tuple[Any, bool]:
    async with httpx.AsyncClient() as client:
        invocation = await deployment.functions[name].invoke(event, client=client)
    return json.loads(invocation.payload), invocation.function_error is not None


def invoke_event(deployment: LocalDeployment, name: str, event: dict[str, Any]) -> tuple[Any, bool]:
    """Run one event through a started deployment's function or endpoint: (response document, function failed)."""
    if any(model.name == name and model.target is Target.GPU for model in deployment.models):
        return asyncio.run(_invoke_endpoint(deployment, name, event)), False
    return asyncio.run(_invoke_function(deployment, name, event))


def run(args: argparse.Namespace, *, stdout: TextIO | None = None, output: TextIO | None = None) -> int:
    """Invoke once; 0 when the function answered (whatever its status code), 1 when it failed or could not run."""
    out = stdout if stdout is not None else sys.stdout
    err = output if output is not None else sys.stderr
    deployment: LocalDeployment | None = None
    try:
        event = read_event(args.event)

        def say(message: str) -> None:
            print(f"[local] {message}", file=err, flush=True)

        try:
            base_path = normalize_base_path(getattr(args, "base_path", None))
        except BasePathError as exc:
            raise EventError(f"--base-path: {exc}") from None
        if args.function == CATALOG:
            manifests = load_manifests([], models_dir=args.models_dir)
            deployment = LocalDeployment(
                [], root=Path.cwd(), catalog_manifests=manifests, output=err, base_path=base_path
            )
        else:
            models = resolve_models([args.function], models_dir=args.models_dir, build_dir=args.build_dir, say=say)
            deployment = LocalDeployment(models, root=Path.cwd(), output=err, base_path=base_path)
        deployment.start(warm=False)
        document, failed = invoke_event(deployment, args.function, event)
    except DeploymentError as exc:
        print(f"modelrail invoke: {exc}", file=err, flush=True)
        return 1
    finally:
        if deployment is not None:
            deployment.stop()
    print(json.dumps(document, indent=2), file=out, flush=True)
    return 1 if failed else 0
