"""``modelrail local up`` and ``modelrail invoke``; heavy imports wait until a command runs."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from modelrail import constants as c
from modelrail.contract import jobs as jobs_contract

DEFAULT_PORT = 3000
CANARY_SEED_ENV = "MODELRAIL_LOCAL_CANARY_SEED"
"""Where ``local up`` reads the canary split's seed from when ``--seed`` is not given."""
API_KEY_ENV = "MODELRAIL_LOCAL_API_KEY"
"""Where ``local up`` reads the API key from when ``--api-key`` is not given (several: comma-separated)."""
JOB_TIMEOUT_ENV = "MODELRAIL_LOCAL_JOB_TIMEOUT_S"
"""Where ``local up`` reads the job workers' timeout from when ``--job-timeout-s`` is not given."""


def _env_keys() -> list[str] | None:
    keys = [key.strip() for key in os.environ.get(API_KEY_ENV, "").split(",") if key.strip()]
    return keys or None


def _run_up(args: argparse.Namespace) -> int:
    from modelrail.local import up

    if args.api_key is None:
        args.api_key = _env_keys()
    return up.run(args)


def _run_invoke(args: argparse.Namespace) -> int:
    from modelrail.local import invoke

    return invoke.run(args)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", type=Path, default=Path(c.MODELS_DIR), help="default: %(default)s")
    parser.add_argument("--build-dir", type=Path, default=Path(c.BUILD_DIR), help="default: %(default)s")


def register(subparsers: Any) -> None:
    """Add ``local`` (with ``up``) and ``invoke``."""
    local = subparsers.add_parser("local", help="run the whole stack on this machine (no AWS account, no Docker)")
    local_commands = local.add_subparsers(dest="local_command", metavar="COMMAND", required=True)
    up = local_commands.add_parser(
        "up",
        help="embedded S3 + the real handlers behind an API Gateway-style gateway on 127.0.0.1",
        description=(
            "Start an embedded S3 server seeded with the built models (building missing ones first), Lambda "
            "execution environments per CPU model (one at start, more on demand up to the model's "
            "reserved_concurrency, else 4), the GPU container app per GPU model (CPU provider), the catalog "
            "function, and a gateway on 127.0.0.1:PORT that turns each request into an API Gateway proxy event. "
            "Ctrl-C stops everything."
        ),
    )
    up.add_argument("names", nargs="*", metavar="NAME", help="models to serve (default: all)")
    up.add_argument("--port", type=int, default=DEFAULT_PORT, help="gateway port on 127.0.0.1 (default: %(default)s)")
    up.add_argument(
        "--api-key",
        action="append",
        default=None,
        help=f"require this key in header {c.API_KEY_HEADER}, as the cloud API does; repeat for several keys, "
        f"each owning its own jobs (default: env {API_KEY_ENV}, comma-separated; none: no key required)",
    )
    up.add_argument(
        "--job-timeout-s",
        type=float,
        default=float(os.environ.get(JOB_TIMEOUT_ENV) or jobs_contract.WORKER_TIMEOUT_S),
        help="the job workers' timeout: a worker hands its job on to a new invocation before it runs out, and a "
        f"killed worker's job resumes after it (default: env {JOB_TIMEOUT_ENV}, else %(default).0f as in the stack)",
    )
    up.add_argument(
        "--no-warm", action="store_true", help="leave each model's cold start to its first request (as on Lambda)"
    )
    up.add_argument(
        "--seed",
        default=os.environ.get(CANARY_SEED_ENV) or None,
        help="seed of the canary split of unversioned requests, to replay the same sequence "
        f"(default: env {CANARY_SEED_ENV}; none: a fresh sequence)",
    )
    _common(up)
    up.set_defaults(run=_run_up)

    invoke = subparsers.add_parser(
        "invoke",
        help="run one event file through a function and print its response (like `sam local invoke`)",
        description=(
            "Run one API Gateway event through FUNCTION (a model name, or `catalog`) with the same embedded S3, "
            "runtime and environment as `modelrail local up`; print the Lambda response JSON on stdout."
        ),
    )
    invoke.add_argument("function", metavar="FUNCTION", help="a model name, or `catalog`")
    invoke.add_argument("--event", "-e", required=True, help="event JSON file (events/*.json), or - for stdin")
    invoke.add_argument(
        "--base-path",
        default=None,
        help="the custom domain's base path mapping, as the stack's `--context base_path=...` (e.g. prod): "
        "REST events' paths start with it (default: none)",
    )
    _common(invoke)
    invoke.set_defaults(run=_run_invoke)
