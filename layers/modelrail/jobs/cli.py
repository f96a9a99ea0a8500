"""``modelrail job MODEL FILE.jsonl``: run a file of instances as a job and save the results next to it.

The same command as ``modelrail predict MODEL --job FILE.jsonl``, under its own name: one code path
(``modelrail.predict.cli.run``), the same targets (local mode, ``--url``, ``--stage``) and credentials.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``modelrail job``."""
    from modelrail.local.cli import API_KEY_ENV as LOCAL_API_KEY_ENV
    from modelrail.local.cli import DEFAULT_PORT
    from modelrail.predict.cli import DEFAULT_BATCH_SIZE, add_job_arguments, add_target_arguments

    parser = subparsers.add_parser(
        "job",
        help="run a JSON Lines file of instances as a job (past the synchronous limits) and download the results",
        description=(
            "Submit FILE (JSON Lines, one instance per line) to POST /v1/models/MODEL/jobs: inline when small, else "
            "uploaded to the job's presigned URL; show progress until the job ends; save the results (one line per "
            'input line, in order: {"prediction": ...} or {"line", "error", "code"}) to --output. The same as '
            "`modelrail predict MODEL --job FILE.jsonl`. Without --url or --stage it calls local mode at "
            f"http://127.0.0.1:{DEFAULT_PORT}/ with the key in env {LOCAL_API_KEY_ENV}."
        ),
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("job", metavar="FILE.jsonl", type=Path)
    add_job_arguments(parser)
    add_target_arguments(parser)
    parser.set_defaults(
        run=run,
        instances=[],
        batch_size=DEFAULT_BATCH_SIZE,
        local_port=DEFAULT_PORT,
        local_key_env=LOCAL_API_KEY_ENV,
    )


def run(args: argparse.Namespace) -> int:
    """Run the job; 0 once the results are saved, 1 with the reason on stderr."""
    from modelrail.predict.cli import run as predict

    return predict(args, prog="modelrail job")
