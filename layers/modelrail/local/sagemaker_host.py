"""One SageMaker container on loopback: the GPU container's ASGI app under uvicorn, as its ``serve`` runs it.

Run as ``python -m modelrail.local.sagemaker_host --app functions/sagemaker_inference/serve.py:app --fd N`` in a
process whose environment is the SageMaker model's. The app answers ``GET /ping`` and ``POST /invocations``;
ONNX Runtime falls back to its CPU provider where no GPU exists, and the app logs which provider serves.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

from modelrail.local.lambda_runtime import HandlerSpec, load_attribute
from modelrail.local.processes import exit_with_parent


def main(argv: Sequence[str] | None = None) -> int:
    """Import the app, then serve it on the inherited socket until SIGTERM."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m modelrail.local.sagemaker_host")
    parser.add_argument("--app", required=True, help="path/to/module.py:attribute naming an ASGI app")
    parser.add_argument("--fd", type=int, required=True, help="an inherited, bound, listening TCP socket")
    args = parser.parse_args(argv)

    exit_with_parent()
    sock = socket.socket(fileno=args.fd)
    app: Any = load_attribute(HandlerSpec.parse(args.app))
    config = uvicorn.Config(app, access_log=False, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its children with SIGTERM, in order
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
