"""``modelrail job MODEL FILE.jsonl``: run a file of instances as a job and save the results next to it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

API_KEY_ENV = "MODELRAIL_API_KEY"


def register(subparsers: Any) -> None:
    """Add ``modelrail job``."""
    from modelrail.local.cli import API_KEY_ENV as LOCAL_API_KEY_ENV
    from modelrail.local.cli import DEFAULT_PORT

    parser = subparsers.add_parser(
        "job",
        help="run a JSON Lines file of instances as a job (past the synchronous limits) and download the results",
        description=(
            "Submit FILE (JSON Lines, one instance per line) to POST /v1/models/MODEL/jobs: inline when small, else "
            "uploaded to the job's presigned URL; show progress until the job ends; save the results (one line per "
            'input line, in order: {"prediction": ...} or {"line", "error", "code"}) to --output. Without '
            f"--url it calls local mode at http://127.0.0.1:{DEFAULT_PORT}/ with the key in env {LOCAL_API_KEY_ENV}."
        ),
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("file", metavar="FILE.jsonl", type=Path)
    parser.add_argument("--url", help="the API's base URL (default: local mode)")
    parser.add_argument("--api-key", help=f"the API key (default: env {API_KEY_ENV}, or {LOCAL_API_KEY_ENV} locally)")
    parser.add_argument("--output", "-o", type=Path, help="where to save the results (default: FILE.results.jsonl)")
    parser.add_argument(
        "--poll-s", type=float, default=1.0, help="seconds between status checks (default: %(default)s)"
    )
    parser.set_defaults(run=run, local_port=DEFAULT_PORT, local_key_env=LOCAL_API_KEY_ENV)


def run(args: argparse.Namespace) -> int:
    """Run the job; 0 once the results are saved, 1 with the reason on stderr."""
    from modelrail.jobs.client import JobError, http_call, run_job

    if not args.file.is_file():
        print(f"modelrail job: {args.file} is not a file", file=sys.stderr)
        return 1
    if args.url:
        url, key = args.url, args.api_key or os.environ.get(API_KEY_ENV)
    else:
        url = f"http://127.0.0.1:{args.local_port}/"
        key = args.api_key or (os.environ.get(args.local_key_env) or "").split(",")[0] or None
    output = args.output or args.file.with_name(f"{args.file.stem}.results.jsonl")
    try:
        status = run_job(http_call(url, api_key=key), args.model, args.file, output, poll_s=args.poll_s)
    except JobError as exc:
        print(f"modelrail job: {exc}", file=sys.stderr)
        return 1
    counts = status["counts"]
    print(
        f"modelrail job: {counts['done']} result lines ({counts['errors']} errors) saved to {output}", file=sys.stderr
    )
    return 0
