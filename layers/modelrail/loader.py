"""The served model, loaded once per process on first use (never in the FastAPI lifespan).

Mangum runs the lifespan on every Lambda invocation, so loading lives behind a thread-safe lazy accessor
instead: the first caller fetches, verifies and builds the session; concurrent callers wait for it;
later callers get the same object. A failed load is not remembered: the next request tries again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelrail import metrics
from modelrail.deadline import LAMBDA_INIT_LIMIT_S, Deadline
from modelrail.errors import FetchTimeoutError, ModelrailError, ModelUnavailableError
from modelrail.logs import get_logger, set_model_context
from modelrail.metrics import MetricsEmitter
from modelrail.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from modelrail.manifest import BuiltManifest
    from modelrail.processors.base import Processor
    from modelrail.session import ModelSession
    from modelrail.store import Artifact

log = get_logger("loader")


@dataclass(frozen=True)
class LoadedModel:
    """A verified artifact, its session and its task's processor."""

    artifact: Artifact
    session: ModelSession
    processor: Processor
    fetch_ms: float
    session_ms: float

    @property
    def manifest(self) -> BuiltManifest:
        """The artifact's built manifest."""
        return self.artifact.manifest


class ModelLoader:
    """Thread-safe, load-once accessor for this process's model."""

    def __init__(
        self,
        settings: Settings,
        emitter: MetricsEmitter,
        *,
        fetch: Callable[[Settings], Artifact] | None = None,
        log_context: bool = True,
    ) -> None:
        self.settings = settings
        self.emitter = emitter
        self._fetch = fetch
        self._log_context = log_context
        """Whether a load sets the process's log context (model, version): the default version's loader does."""
        self._lock = threading.Lock()
        self._model: LoadedModel | None = None
        self._extensions_ready: threading.Event | None = None
        self._s3_client: S3Client | None = None
        self._renewed = False

    def sibling(self, settings: Settings) -> ModelLoader:
        """A loader of another artifact (another served version) sharing this one's metrics, fetch and S3 client;
        its loads leave the log context (the default version) as it is."""
        loader = ModelLoader(settings, self.emitter, fetch=self._fetch, log_context=False)
        loader._s3_client = self.s3_client  # after a SnapStart restore: the renewed one
        return loader

    @property
    def loaded(self) -> LoadedModel | None:
        """The model if it has loaded, without trying to load it."""
        return self._model

    def get(self, deadline: Deadline | None = None) -> LoadedModel:
        """The model, loading it first if no earlier call has; raises ``ModelUnavailableError`` on failure.

        Returns or raises by ``deadline`` (default: the settings' fetch budget from now), also while another
        thread (the preload, another request) holds the load: that wait counts against it too.
        """
        model = self._model
        if model is not None:
            return model
        deadline = deadline or Deadline.after(self.settings.resolved_fetch_budget_s)
        if not self._lock.acquire(timeout=deadline.remaining()):
            raise self._for_caller(FetchTimeoutError("another thread's load did not finish before this deadline"))
        try:
            if self._model is None:
                self._model = self._load(deadline)
            return self._model
        finally:
            self._lock.release()

    def preload(self) -> threading.Thread:
        """Start loading in the background, so the download overlaps the rest of start-up; errors are logged.

        Every import happens on the calling thread, and the S3 client is made there first: until it exists
        no byte can be in flight, and making it is CPU work that would only contend with the caller's own.
        The background thread then only waits on the network, verifies files and builds the session (ONNX
        Runtime releases the GIL while it builds) once this thread has imported numpy and onnxruntime.
        Importing numpy from two threads at once can fail half-initialised, and the caller is about to
        import the web framework (and numpy with it).
        """
        if self._fetch is None and self.settings.model_dir is None and self.settings.model_bucket is not None:
            from modelrail.store.s3 import make_s3_client

            try:
                self._s3_client = make_s3_client(budget_s=self.settings.resolved_fetch_budget_s)
            except Exception:  # e.g. no region: the load makes its own client and reports the error
                self._s3_client = None
        import modelrail.store  # noqa: F401 - the manifest's models, before the fetch thread parses one

        self._extensions_ready = threading.Event()
        # Started during init, which ends once the imports are done: the first request follows at once and
        # bounds its own wait (``get``'s deadline), so the preload may use Lambda's init limit on top of a
        # request's budget; whatever it has fetched by then is reused.
        preload_deadline = Deadline.after(self.settings.resolved_fetch_budget_s + LAMBDA_INIT_LIMIT_S)

        def run() -> None:
            # already logged and counted; the first request retries and reports it
            with contextlib.suppress(ModelrailError):
                self.get(preload_deadline)

        thread = threading.Thread(target=run, name="modelrail-preload", daemon=True)
        thread.start()
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401

        self._extensions_ready.set()
        return thread

    def close_s3_client(self) -> None:
        """Close this process's S3 client and its connection pool (before a SnapStart snapshot: a socket kept in
        the snapshot would be shared by, and dead in, every environment restored from it)."""
        client, self._s3_client = self._s3_client, None
        if client is not None:
            with contextlib.suppress(Exception):  # closing a pool that already failed is still closed
                client.close()

    def renew_s3_client(self) -> None:
        """Give this process a new S3 client (after a SnapStart restore), made on first use: its own connection pool
        and credentials, for the loads still to come (a failed one retried, another served version)."""
        self.close_s3_client()
        self._renewed = True

    @property
    def s3_client(self) -> S3Client | None:
        """The client loads use (None: each load makes its own); after ``renew_s3_client``, a new one."""
        if self._s3_client is None and self._renewed and self.settings.model_bucket is not None:
            from modelrail.store.s3 import make_s3_client

            with contextlib.suppress(Exception):  # e.g. no region: the load makes its own client and reports it
                self._s3_client = make_s3_client(budget_s=self.settings.resolved_fetch_budget_s)
        return self._s3_client

    def _load(self, deadline: Deadline) -> LoadedModel:
        from modelrail.store import fetch_artifact

        started = time.perf_counter()
        try:
            if self._fetch is not None:
                artifact = self._fetch(self.settings)
            else:
                artifact = fetch_artifact(self.settings, s3_client=self.s3_client, deadline=deadline)
            fetched = time.perf_counter()
            if self._extensions_ready is not None:
                self._extensions_ready.wait()  # preload() is importing numpy and onnxruntime
            from modelrail.manifest import declared_batch_axes
            from modelrail.session import ModelSession

            session_started = time.perf_counter()
            self._check_identity(artifact)
            manifest = artifact.manifest
            session = ModelSession(
                artifact.path(manifest.model_file),
                providers=self.settings.providers,
                intra_op_threads=self.settings.resolved_intra_op_threads,
                inter_op_threads=self.settings.inter_op_threads,
                max_batch_size=manifest.serving.max_batch_size,
                spin=not self.settings.on_lambda,
                require_cuda=self.settings.require_cuda,
                batch_axes=declared_batch_axes(manifest.model),
                graph=manifest.graph,
            )
            built = time.perf_counter()
            processor = _build_processor(artifact, session)
        except ModelrailError as exc:
            # The whole story (bucket, key, paths, checksums) goes to the log; the caller gets its own terms.
            log.error("model load failed", extra={"error": exc.message, "code": exc.code, "kind": type(exc).__name__})
            self.emitter.count(metrics.MODEL_LOAD_FAILURES)
            raise self._for_caller(exc) from None
        model = LoadedModel(
            artifact=artifact,
            session=session,
            processor=processor,
            fetch_ms=(fetched - started) * 1000,
            session_ms=(built - session_started) * 1000,
        )
        self.emitter.model = manifest.name  # the artifact is the authority once it has been verified
        if self._log_context:
            set_model_context(model=manifest.name, version=manifest.version)
        self.emitter.emit(
            {
                metrics.MODEL_FETCH_MS: (model.fetch_ms, "Milliseconds"),
                metrics.SESSION_MS: (model.session_ms, "Milliseconds"),
            }
        )
        log.info(
            "model loaded",
            extra={
                "model_version": manifest.version,
                "source": artifact.location,
                "manifest_sha256": artifact.manifest_sha256,
                "provider": session.provider,
                "precision": manifest.precision,
                "fetch_ms": round(model.fetch_ms, 1),
                "session_ms": round(model.session_ms, 1),
            },
        )
        return model

    def _for_caller(self, exc: ModelrailError) -> ModelUnavailableError:
        """The 503 a caller sees for a failed load: what happened in its terms, never where or which bytes."""
        from modelrail.store.artifact import ArtifactIntegrityError

        name = f"model `{self.settings.model_name}`" if self.settings.model_name else "the model"
        if isinstance(exc, ArtifactIntegrityError):
            message = f"{name} cannot be served: its stored files failed verification; the operators must redeploy it"
        elif isinstance(exc, FetchTimeoutError):
            message = f"{name} is still loading (its files are slow to arrive); retry shortly"
        else:
            message = f"{name} could not be loaded; retry shortly"
        return ModelUnavailableError(f"{message} (the cause is logged under this request id)")

    def _check_identity(self, artifact: Artifact) -> None:
        manifest = artifact.manifest
        for field, wanted, found in (
            ("name", self.settings.model_name, manifest.name),
            ("version", self.settings.model_version, manifest.version),
        ):
            if wanted is not None and wanted != found:
                raise ModelUnavailableError(
                    f"{artifact.location} holds {manifest.name} version {manifest.version}, but this function "
                    f"serves {field} {wanted}; fix MODELRAIL_MODEL_{field.upper()} or the artifact location"
                )


def _build_processor(artifact: Artifact, session: ModelSession) -> Processor:
    from modelrail.processors.base import processor_for

    try:
        return processor_for(artifact, session)
    except ModelrailError:
        raise
    except Exception as exc:  # e.g. an unreadable tokenizer.json: the artifact cannot be served
        raise ModelUnavailableError(
            f"the {artifact.manifest.task.value} processor cannot be set up from {artifact.location}: "
            f"{type(exc).__name__}: {str(exc)[:200]}"
        ) from None
