"""SageMaker entry point: ``docker run <image> serve`` answers ``/ping`` and ``/invocations`` on port 8080."""

from __future__ import annotations

import sys

import uvicorn

from modelrail.sagemaker import PORT, create_sagemaker_app

app = create_sagemaker_app()


def main(argv: list[str]) -> int:
    """Serve until stopped; SageMaker passes the single argument ``serve``."""
    if argv and argv != ["serve"]:
        print(f"usage: serve.py [serve] (got {' '.join(argv)})", file=sys.stderr)
        return 2
    # One process: the session owns the GPU and is safe to call from the threadpool's threads.
    # SageMaker's hosting contract: the container answers /ping and /invocations on port 8080 of its own network
    # interface, which only SageMaker reaches (the model runs with network isolation).
    uvicorn.run(app, host="0.0.0.0", port=PORT, workers=1, access_log=False, log_level="warning")  # noqa: S104  # nosec B104
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
