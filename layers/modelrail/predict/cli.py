"""``modelrail predict MODEL INSTANCE...``: call a model's task API in local mode or on a deployed stage."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from modelrail.cloud.outputs import stage_argument

DEFAULT_BATCH_SIZE = 64
MAX_BATCH_SIZE = 1024
"""The task API takes 1 to 1024 instances per request (``docs/serving.md``)."""
API_KEY_ENV = "MODELRAIL_API_KEY"
"""The key predict sends with ``--url`` when ``--api-key`` is not given."""


def register(subparsers: Any) -> None:
    """Add ``modelrail predict``."""
    from modelrail.local.cli import API_KEY_ENV as LOCAL_API_KEY_ENV
    from modelrail.local.cli import DEFAULT_PORT

    parser = subparsers.add_parser(
        "predict",
        help="send instances to a model (local mode or a deployed stage) and print its predictions",
        description=(
            "Send INSTANCEs to POST /v1/models/MODEL/predict and print one JSON prediction per line, in order. "
            "The model's task (GET /v2/models/MODEL) says how instances are read: text tasks take texts, or "
            "@file.txt with one text per line; image tasks take @image.png or @image.jpg (sent as base64); "
            "tabular and tensor models take JSON, or @file.jsonl with one instance per line. "
            f"Without --url or --stage, predict calls local mode at http://127.0.0.1:{DEFAULT_PORT}/ "
            f"(`modelrail local up`), with the key in env {LOCAL_API_KEY_ENV} if set."
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="the model's name")
    parser.add_argument("instances", nargs="*", metavar="INSTANCE", help="an instance, or @FILE")
    parser.add_argument(
        "--job",
        type=Path,
        metavar="FILE.jsonl",
        help="run a JSON Lines file of instances as a job (POST /v1/models/MODEL/jobs, past the synchronous "
        "limits) and save the results to --output; instead of INSTANCEs",
    )
    add_job_arguments(parser, prefix="with --job: ")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"instances per request, 1 to {MAX_BATCH_SIZE} (default: %(default)s)",
    )
    add_target_arguments(parser)
    parser.set_defaults(run=run, local_port=DEFAULT_PORT, local_key_env=LOCAL_API_KEY_ENV)


def add_job_arguments(parser: argparse.ArgumentParser, *, prefix: str = "") -> None:
    """``--output`` and ``--poll-s``: where a job's results go, how often its status is read."""
    parser.add_argument("--output", "-o", type=Path, help=f"{prefix}results file (default: FILE.results.jsonl)")
    parser.add_argument(
        "--poll-s", type=float, default=1.0, help=f"{prefix}seconds between status checks (default: %(default)s)"
    )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Where requests go (local mode, ``--url`` or ``--stage``), with which credentials, and their timeout."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", help="the API's base URL, e.g. http://127.0.0.1:3000/ or a stage's ApiUrl")
    where.add_argument(
        "--stage", type=stage_argument, help="a deployed stage: URL and API key from stack modelrail-STAGE's outputs"
    )
    parser.add_argument("--api-key", help=f"the API key to send with --url (default: env {API_KEY_ENV})")
    parser.add_argument("--region", help="with --stage: the AWS region (default: your AWS configuration's)")
    parser.add_argument("--profile", help="with --stage: the AWS profile (default: your AWS configuration's)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default: %(default)s)")


def _client(args: argparse.Namespace) -> tuple[Any, str]:
    """The API client for the target, and a hint to add to a connection failure."""
    from modelrail.predict.http import ApiClient

    if args.stage:
        from modelrail.cloud.outputs import stage_endpoint
        from modelrail.cloud.session import aws_session

        session = aws_session(region=args.region, profile=args.profile)
        endpoint = stage_endpoint(session, args.stage)
        signer = session if endpoint.api_key is None else None
        client = ApiClient(endpoint.url, api_key=endpoint.api_key, sign_with=signer, timeout_s=args.timeout)
        return client, ""
    if args.url:
        key = args.api_key or os.environ.get(API_KEY_ENV) or None
        return ApiClient(args.url, api_key=key, timeout_s=args.timeout), ""
    # `local up` takes a comma-separated list of keys from the same variable; any one of them is accepted.
    key = args.api_key or (os.environ.get(args.local_key_env) or "").split(",")[0].strip() or None
    client = ApiClient(f"http://127.0.0.1:{args.local_port}/", api_key=key, timeout_s=args.timeout)
    return client, "; is local mode running? Start it with `modelrail local up`, or pass --url or --stage"


def model_task(client: Any, name: str) -> str:
    """The model's task, from its metadata (``GET /v2/models/<name>``, ``parameters.task``)."""
    from modelrail.predict.http import PredictError

    try:
        metadata = client.call("GET", f"v2/models/{name}").body
    except PredictError as exc:
        if exc.status == 404:
            raise PredictError(f"{exc}\nno model `{name}` here: GET /v1/models lists the models", status=404) from None
        raise
    task = metadata.get("parameters", {}).get("task") if isinstance(metadata, dict) else None
    if not isinstance(task, str):
        raise PredictError(f"the metadata of `{name}` names no task (parameters.task)")
    return task


def predict(client: Any, name: str, instances: list[Any], *, batch_size: int) -> tuple[list[Any], Counter[str]]:
    """Every prediction in instance order, and how many each model version answered."""
    from modelrail.predict.http import PredictError

    predictions: list[Any] = []
    versions: Counter[str] = Counter()
    for start in range(0, len(instances), batch_size):
        batch = instances[start : start + batch_size]
        try:
            body = client.call("POST", f"v1/models/{name}/predict", {"instances": batch}).body
        except PredictError as exc:
            if len(instances) > len(batch):
                raise PredictError(f"instances {start}..{start + len(batch) - 1}: {exc}", status=exc.status) from None
            raise
        answered = body.get("predictions") if isinstance(body, dict) else None
        if not isinstance(answered, list) or len(answered) != len(batch):
            raise PredictError(f"the answer for instances {start}..{start + len(batch) - 1} has no predictions")
        predictions += answered
        versions[str(body.get("version"))] += len(batch)
    return predictions, versions


def run_job(client: Any, args: argparse.Namespace, *, prog: str) -> int:
    """``--job`` (and ``modelrail job``): the jobs client (``modelrail.jobs.client``) over this target's HTTP client
    (key or SigV4)."""
    from modelrail.jobs.client import JobError
    from modelrail.jobs.client import run_job as run_job_file
    from modelrail.predict.http import PredictError

    def call(method: str, path: str, payload: Any = None) -> Any:
        try:
            return client.call(method, path, payload).body
        except PredictError as exc:
            raise JobError(str(exc)) from None

    if not args.job.is_file():
        print(f"{prog}: {args.job} is not a file", file=sys.stderr)
        return 1
    output = args.output or args.job.with_name(f"{args.job.stem}.results.jsonl")
    try:
        status = run_job_file(call, args.model, args.job, output, poll_s=args.poll_s)
    except JobError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    counts = status["counts"]
    errors = int(counts["errors"])
    print(
        f"{prog}: {counts['done']} result lines ({errors} error{'' if errors == 1 else 's'}) saved to {output}",
        file=sys.stderr,
    )
    return 0


def _argument_problem(args: argparse.Namespace, valid_name: bool) -> str | None:
    if not valid_name:
        return f"`{args.model}` is not a model name (lowercase letters, digits and hyphens)"
    if not 1 <= args.batch_size <= MAX_BATCH_SIZE:
        return f"--batch-size must be 1 to {MAX_BATCH_SIZE}"
    if (args.job is None) == (not args.instances):
        return "give INSTANCEs, or --job FILE.jsonl (not both)"
    return None


def run(args: argparse.Namespace, *, prog: str = "modelrail predict") -> int:
    """Predict (or run ``--job``); exit 0 with every prediction printed, 1 with the API's error on stderr."""
    from modelrail.cloud.session import CloudError
    from modelrail.manifest import is_valid_name
    from modelrail.predict.http import PredictError
    from modelrail.predict.instances import InstanceError, parse_instances

    def fail(message: str) -> int:
        print(f"{prog}: {message}", file=sys.stderr)
        return 1

    problem = _argument_problem(args, is_valid_name(args.model))
    if problem:
        return fail(problem)
    hint = ""
    try:
        client, hint = _client(args)
        if args.job is not None:
            return run_job(client, args, prog=prog)
        task = model_task(client, args.model)
        instances = parse_instances(args.instances, task)
        predictions, versions = predict(client, args.model, instances, batch_size=args.batch_size)
    except (CloudError, InstanceError) as exc:
        return fail(str(exc))
    except PredictError as exc:
        return fail(f"{exc}{hint if exc.status == 0 else ''}")
    for prediction in predictions:
        print(json.dumps(prediction, separators=(",", ":")))
    answered = ", ".join(f"version {version} ({count})" for version, count in sorted(versions.items()))
    print(f"modelrail predict: {args.model}: {len(predictions)} prediction(s), answered by {answered}", file=sys.stderr)
    return 0
