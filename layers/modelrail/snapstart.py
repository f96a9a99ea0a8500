"""SnapStart for zip-packaged functions: the model is loaded during init, so the snapshot holds it, and runtime hooks
make every environment restored from that snapshot its own.

Lambda runs a SnapStart function's init once, when a version is published, takes a snapshot of the initialized
environment (memory and disk) and resumes each new environment of that version from it
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). ``prepare`` therefore waits, during init, for the
model to be fetched, verified and its session built (and runs the session once, so its first-run allocations are in
the snapshot too, as AWS's performance advice for SnapStart suggests priming:
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-best-practices.html), and registers the runtime hooks of
``snapshot_restore_py``, which the managed Python runtime provides
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html):

- before the snapshot: the S3 client is closed with its connection pool, so no socket is kept in the snapshot;
- after each restore, in this order: Python's ``random`` and numpy's global generator are reseeded from the OS
  (state made during init is shared by every restored environment: "Handling uniqueness with Lambda SnapStart",
  https://docs.aws.amazon.com/lambda/latest/dg/snapstart-uniqueness.html); the loader is given a new S3 client,
  made on its first use (its own connection pool, and credentials resolved then rather than cached at init; made
  lazily because the loaded model rarely needs one and making it costs tens of ms of the restore); and one log
  line, ``restored from snapshot``, says how old the snapshot was and how long the hooks took.

Nothing else here outlives init in a way restored environments must not share: no request is answered before the
snapshot (the cold-start metric fires on each environment's first request), request ids are drawn per request
(``uuid4``, from ``os.urandom``), every deadline is computed per request (the init-time load's own deadline has
passed its use before the snapshot), and log and metric timestamps are read when written. The restore hooks must
finish within Lambda's 10 s restore limit, so they only reseed, make a client and log.

Whether this init is a SnapStart one: Lambda sets ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, and the runtime
interface client runs the hooks only then (aws/aws-lambda-python-runtime-interface-client,
``awslambdaric/bootstrap.py``, ``on_init_complete``). ``prepare`` keys on the same variable, so an on-demand init
(the container image, a zip function's ``$LATEST``) keeps the background preload and imports nothing from here.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from modelrail.constants import ENV_LAMBDA_INITIALIZATION_TYPE, SNAP_START_INITIALIZATION
from modelrail.logs import get_logger

if TYPE_CHECKING:
    from fastapi import FastAPI

    from modelrail.loader import LoadedModel, ModelLoader
    from modelrail.session import ModelSession

log = get_logger("snapstart")

SNAPSHOT_INIT_LIMIT_S = 130.0
"""The least time Lambda gives a SnapStart function's init (130 s, or the function's timeout when that is longer;
the before-snapshot hooks count against it): runtime hooks for Python, the page cited above."""
_PRIMING_SIZE = 8
"""Size of a symbolic dimension other than the batch axis in the priming run (e.g. a sequence length)."""


def snapshot_init() -> bool:
    """Whether this process is a SnapStart init, whose state the snapshot will keep."""
    return os.environ.get(ENV_LAMBDA_INITIALIZATION_TYPE) == SNAP_START_INITIALIZATION


def prepare(app: FastAPI) -> bool:
    """Under a SnapStart init, load the model now and register the runtime hooks; returns whether it did.

    A model that cannot be loaded fails the init (the error is logged by the loader): Lambda then fails to publish
    the version, rather than snapshotting an environment that would refuse every request.
    """
    if not snapshot_init():
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    from modelrail.deadline import Deadline

    loader: ModelLoader = app.state.loader
    started = time.perf_counter()
    timeout_s = max(SNAPSHOT_INIT_LIMIT_S, loader.settings.function_timeout_s or 0.0)
    model = loader.get(Deadline.after(timeout_s))
    _settle_preload()
    loaded = time.perf_counter()
    primed = prime(model)
    hooks = RestoreHooks(loader)
    register_before_snapshot(hooks.before_snapshot)
    register_after_restore(hooks.after_restore)
    log.info(
        "model loaded for the snapshot",
        extra={
            "wait_ms": round((loaded - started) * 1000, 1),
            "primed": primed,
            "prime_ms": round((time.perf_counter() - loaded) * 1000, 1),
        },
    )
    return True


class RestoreHooks:
    """What runs before the snapshot and after each restore (see the module docstring)."""

    def __init__(self, loader: ModelLoader) -> None:
        self.loader = loader
        self.snapshot_at: float | None = None
        """Wall-clock time of the snapshot (from the snapshot's memory, so a restored environment can tell its age)."""

    def before_snapshot(self) -> None:
        """Close what must not be kept in the snapshot."""
        self.loader.close_s3_client()
        self.snapshot_at = time.time()

    def after_restore(self) -> None:
        """Make this restored environment unique, and say so in the log."""
        started = time.perf_counter()
        reseed()
        self.loader.renew_s3_client()
        age_s = None if self.snapshot_at is None else round(max(0.0, time.time() - self.snapshot_at), 3)
        log.info(
            "restored from snapshot",
            extra={
                "snapshot_age_s": age_s,
                "after_restore_ms": round((time.perf_counter() - started) * 1000, 3),
                "pid": os.getpid(),
            },
        )


def reseed() -> None:
    """Reseed Python's global generator and numpy's from the OS (numpy's only if ``numpy.random`` was imported: numpy
    loads it on first use, and a generator that does not exist yet holds no state to share)."""
    random.seed()
    numpy_random: Any = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


def prime(model: LoadedModel) -> str:
    """Answer one neutral instance through the model's processor (text and image tasks), else run the session once on
    inputs made from its signature; returns what was primed ("processor", "session" or "none", the latter logged).

    The processor's path imports and warms what a first request needs (image decoding, the tokenizer); the session's
    first run makes its allocations. Signature inputs: zeros (ones for inputs named like a mask, which zeros would
    empty), true for booleans, 1 along the batch axis and ``_PRIMING_SIZE`` for other dynamic dimensions.
    """
    from modelrail.manifest import Task

    try:
        task = model.manifest.task
        if task in (Task.TEXT_EMBEDDING, Task.TEXT_CLASSIFICATION):
            model.processor.predict(["snapshot"])
            return "processor"
        if task is Task.IMAGE_CLASSIFICATION:
            model.processor.predict([_blank_png()])
            return "processor"
        feeds = _neutral_feeds(model.session)
        if feeds is None:
            return "none"
        model.session.run(feeds)
    except Exception as exc:  # priming is an optimisation: the model still serves real inputs
        log.warning("priming failed; the first request runs cold", extra={"error": str(exc)[:200]})
        return "none"
    return "session"


def _blank_png() -> str:
    import base64
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _neutral_feeds(session: ModelSession) -> dict[str, Any] | None:
    import numpy as np

    from modelrail.datatypes import NUMPY_BY_DATATYPE

    feeds: dict[str, Any] = {}
    for spec in session.inputs:
        if spec.datatype not in NUMPY_BY_DATATYPE:
            return None  # string inputs: nothing neutral to make
        dtype = NUMPY_BY_DATATYPE[spec.datatype]
        shape = [
            size if size >= 0 else (1 if axis == spec.batch_axis else _PRIMING_SIZE)
            for axis, size in enumerate(spec.shape)
        ]
        fill = np.ones if "mask" in spec.name.lower() or dtype.kind == "b" else np.zeros
        feeds[spec.name] = fill(shape, dtype=dtype)
    return feeds


def _settle_preload(timeout_s: float = 5.0) -> None:
    """Let the load's threads (the preload, the fetch's) finish returning once the model is loaded: a snapshot, and
    local mode's fork, should hold no thread in the middle of its work."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith(("modelrail-preload", "s3-")):
            thread.join(timeout_s)
