"""``modelrail local up``: the whole stack on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import socket
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import TextIO

from modelrail.constants import API_KEY_HEADER
from modelrail.contract.releases import ReleasePlan
from modelrail.local.artifacts import resolve_models
from modelrail.local.deployment import DeploymentError, LocalDeployment
from modelrail.local.gateway import Gateway
from modelrail.local.processes import LOOPBACK, bind_loopback
from modelrail.local.releases import SEED_ENV
from modelrail.local.routing import CATALOG, RouteTable
from modelrail.manifest import Target

READY_PREFIX = "modelrail local mode is ready on"
"""Start of the line that says the gateway answers (tests and scripts wait for it)."""


def release_line(name: str, plan: ReleasePlan, *, seed: str | None) -> str:
    """``digits: versions 1, 2; unversioned -> 1 50% (live), 2 50% (canary, ...)``: who answers what."""
    shares = []
    for version, weight in plan.weights().items():
        role = "live" if version == plan.live else "canary" if version == plan.canary else "pinned routes only"
        shares.append(f"{version} {weight}% ({role})")
    line = f"  {name}: versions {', '.join(plan.served)}; unversioned -> {', '.join(shares)}"
    if plan.splits:
        line += f"; split seed {seed}" if seed is not None else f"; split unseeded (--seed or {SEED_ENV} replays it)"
    return line


def ready_lines(
    table: RouteTable,
    *,
    base_url: str,
    api_key: bool,
    kinds: dict[str, str],
    releases: Mapping[str, ReleasePlan] | None = None,
    seed: str | None = None,
) -> list[str]:
    """The ready line, one line per route, then each model's versions and the weights of its unversioned routes."""
    auth = f"send header {API_KEY_HEADER}" if api_key else "no API key required"
    lines = [f"{READY_PREFIX} {base_url} ({auth}; Ctrl-C stops it)"]
    width = max(len(route.path) for route, _ in table.routes)
    for route, compute in sorted(table.routes, key=lambda pair: (pair[1] != CATALOG, pair[1], pair[0].path)):
        lines.append(f"  {route.method:<6} {base_url}{route.path:<{width}}  -> {compute} ({kinds[compute]})")
    if releases:
        lines.append("versions (pinned routes /v2/models/<name>/versions/<v>/... answer from exactly <v>):")
        lines += [release_line(name, plan, seed=seed) for name, plan in sorted(releases.items())]
    return lines


def serve_gateway(gateway: Gateway, sock: socket.socket, *, ready_lines: list[str], output: TextIO) -> None:
    """Run the gateway under uvicorn on ``sock`` until Ctrl-C or SIGTERM; print ``ready_lines`` once it answers."""
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn with our signal handling: a signal ends serving, and is not re-raised afterwards (uvicorn's
        own handling re-raises it, which would skip the orderly stop of everything else)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            def stop(signum: int, frame: FrameType | None) -> None:
                del frame
                if self.should_exit and signum == signal.SIGINT:
                    self.force_exit = True
                self.should_exit = True

            previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(
        gateway, lifespan="on", access_log=False, log_level="warning", server_header=False, timeout_graceful_shutdown=5
    )
    server = Server(config)

    async def announce() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.05)
        if server.started:
            print("\n".join(ready_lines), file=output, flush=True)

    async def main() -> None:
        task = asyncio.create_task(announce())
        await server.serve(sockets=[sock])
        task.cancel()

    asyncio.run(main())


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    del signum, frame
    raise KeyboardInterrupt


def run(args: argparse.Namespace, *, output: TextIO | None = None) -> int:
    """Start everything, serve until Ctrl-C, stop everything; the exit status is 0 after a clean stop."""
    out = output if output is not None else sys.stderr
    try:
        sock = bind_loopback(args.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(
                f"modelrail local up: port {args.port} on {LOOPBACK} is already in use; stop what is using it "
                f"(e.g. `lsof -i :{args.port}`) or pick another port with --port",
                file=out,
            )
        else:
            print(f"modelrail local up: cannot listen on {LOOPBACK}:{args.port}: {exc.strerror}", file=out)
        return 1
    # Until the gateway serves, SIGTERM cleans up like Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    deployment: LocalDeployment | None = None
    try:
        port = int(sock.getsockname()[1])

        def say(message: str) -> None:
            print(f"[local] {message}", file=out, flush=True)

        models = resolve_models(args.names, models_dir=args.models_dir, build_dir=args.build_dir, say=say)
        seed = getattr(args, "seed", None)
        deployment = LocalDeployment(
            models,
            root=Path.cwd(),
            catalog_manifests=[model.manifest for model in models],
            output=out,
            jobs=True,
            job_timeout_s=args.job_timeout_s,
            canary_seed=seed,
        )
        deployment.start(warm=not args.no_warm)
        table = deployment.route_table()
        gateway = Gateway(table, deployment.integrations(), api_key=args.api_key, port=port, output=out)
        kinds = dict.fromkeys(deployment.functions, "Lambda function")
        kinds.update(dict.fromkeys(deployment.endpoints, "SageMaker container, CPU provider here"))
        kinds.update(
            {
                model.name: "SageMaker container, CPU provider here"
                if model.target is Target.GPU
                else "Lambda function"
                for model in models
            }
        )
        kinds[CATALOG] = "Lambda function"
        lines = ready_lines(
            table,
            base_url=f"http://{LOOPBACK}:{port}",
            api_key=bool(args.api_key),
            kinds=kinds,
            releases={model.name: model.plan for model in models},
            seed=seed,
        )
        signal.signal(signal.SIGTERM, previous)
        serve_gateway(gateway, sock, ready_lines=lines, output=out)
        print("[local] stopping ...", file=out, flush=True)
    except DeploymentError as exc:
        print(f"modelrail local up: {exc}", file=out, flush=True)
        return 1
    except KeyboardInterrupt:
        print("[local] interrupted; stopping ...", file=out, flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if deployment is not None:
            deployment.stop()
        sock.close()
    print("[local] stopped", file=out, flush=True)
    return 0
