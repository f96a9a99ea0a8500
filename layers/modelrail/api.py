"""The handlers of every API operation over one lazily loaded model (routes are wired in ``app.py``).

Handlers are ``async``: under Lambda (one request per process at a time) model work runs inline, which
saves a thread hop per request; under a concurrent server it runs in the threadpool so one slow request
never blocks the event loop (ONNX Runtime sessions are safe to call from several threads).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from modelrail import codecs, operations
from modelrail.binary_media import response_is_binary
from modelrail.codecs.content_encoding import decode_body
from modelrail.constants import MODEL_VERSION_HEADER
from modelrail.deadline import Deadline, after_fetch_reserve_s
from modelrail.errors import ModelNotFoundError, ModelrailError, VersionNotFoundError
from modelrail.loader import LoadedModel, ModelLoader
from modelrail.middleware import REQUEST_STATS_STATE
from modelrail.responses import MODEL_VERSION_STATE, BodyResponse
from modelrail.routes import SERVED_VERSION, Operation
from modelrail.served import ServedVersions
from modelrail.server_metadata import server_metadata
from modelrail.settings import Settings

T = TypeVar("T")
_NAME = re.compile(r"[a-z0-9-]{1,40}")
"""A model name as the manifest allows it; anything else is not echoed back."""
Handler = Callable[[Request], Awaitable[Response]]

BINARY_ANSWERS_SCOPE = "modelrail.binary_answers"
"""Request-scope key a transport sets to ``False`` when binary answers cannot reach the caller intact."""


def binary_answers(request: Request) -> bool:
    """Whether this request may get the binary extension's answer (raw tensor bytes after a JSON header).

    Behind a REST API (a Lambda proxy event), only when API Gateway will hand the bytes over as bytes: the first
    Accept media type is a binary media type (``modelrail.binary_media``); otherwise outputs asked for as binary
    come back as JSON data, which the same clients decode. SageMaker's ``/invocations`` says no itself
    (``modelrail.sagemaker``). An HTTP API (v2 event) or a plain server passes bytes as they are.
    """
    allowed = request.scope.get(BINARY_ANSWERS_SCOPE)
    if allowed is not None:
        return bool(allowed)
    event = request.scope.get("aws.event")
    if isinstance(event, dict) and event.get("version") != "2.0":
        return response_is_binary(request.headers.get("accept"))
    return True


def json_response(body: Any, status: int = 200, *, version: str | None = None) -> Response:
    """A compact JSON response (naming the model version that produced it, if one did)."""
    headers = {MODEL_VERSION_HEADER: version} if version is not None else None
    return BodyResponse(codecs.base.dump_json(body), codecs.base.JSON_MEDIA_TYPE, headers, status_code=status)


class ModelApi:
    """The handlers of every operation, over the lazily loaded served versions of one model."""

    def __init__(self, settings: Settings, loader: ModelLoader) -> None:
        self.settings = settings
        self.loader = loader
        """The default version's loader (unversioned routes)."""
        self.served = ServedVersions(settings, loader)

    async def call(self, request: Request, function: Callable[..., T], *args: Any) -> T:
        """Run blocking model work inline under Lambda, in the threadpool under a concurrent server."""
        if "aws.event" in request.scope:
            return function(*args)
        return await run_in_threadpool(function, *args)

    def check_name(self, request: Request) -> ModelLoader:
        """404 for another model's path or a version not served, before reading the body or loading anything;
        returns the loader of the route's version."""
        name = request.path_params.get("name")
        wanted = self.settings.model_name
        if name is not None and wanted is not None and name != wanted:
            asked = f"model `{name}`" if _NAME.fullmatch(name) else "that model"
            raise ModelNotFoundError(f"{asked} is not served here; this endpoint serves `{wanted}`")
        return self.served.loader(request.path_params.get("version"))

    async def body(self, request: Request) -> bytes:
        """The request body as its sender meant it (gzip inflated; any other Content-Encoding is a 415)."""
        return decode_body(await request.body(), request.headers, max_bytes=self.settings.max_request_bytes)

    def load_deadline(self, request: Request) -> Deadline:
        """When a load this request waits for must give up: the fetch budget, and on Lambda never later than the
        invocation's remaining time less what the request needs after the load (``modelrail.deadline``)."""
        deadline = Deadline.after(self.settings.resolved_fetch_budget_s)
        remaining_ms = getattr(request.scope.get("aws.context"), "get_remaining_time_in_millis", None)
        if callable(remaining_ms):
            left_s = remaining_ms() / 1000
            reserve_s = self.settings.after_fetch_reserve_s or after_fetch_reserve_s(left_s)
            deadline = deadline.sooner(Deadline.after(left_s - reserve_s))
        return deadline

    async def model(self, request: Request) -> LoadedModel:
        """The route's model version (the default on unversioned routes), loaded on first use, after checking the
        path's name and version."""
        loader = self.check_name(request)
        name = request.path_params.get("name")
        version = request.path_params.get("version")
        model = loader.loaded
        if model is None:
            model = await self.call(request, loader.get, self.load_deadline(request))
        manifest = model.manifest
        if name is not None and name != manifest.name:
            raise ModelNotFoundError(f"model `{name}` is not served here; this endpoint serves `{manifest.name}`")
        if version is not None and version != manifest.version:
            # Echoed only when it looks like a version: the message is a document the caller may render.
            asked = f"`{version}`" if SERVED_VERSION.fullmatch(version) else "by that name"
            raise VersionNotFoundError(
                f"model `{manifest.name}` has no version {asked}; the served version is `{manifest.version}`"
            )
        state = request.scope.setdefault("state", {})
        state[MODEL_VERSION_STATE] = manifest.version
        if version is not None:  # the request log line says which version a pinned request reached
            state.setdefault(REQUEST_STATS_STATE, {})["model_version"] = manifest.version
        return model

    async def infer(self, request: Request) -> Response:
        """Run raw tensors through the model."""
        self.check_name(request)
        codec = codecs.infer_codec(request.headers)
        body = await self.body(request)
        decoded = codec.decode(body, request.headers)
        model = await self.model(request)
        started = time.perf_counter()
        answer = await self.call(request, operations.infer, model, decoded)
        if answer.binary_outputs and not binary_answers(request):
            answer = dataclasses.replace(answer, binary_outputs=frozenset())
        encoded = codecs.response_codec(answer).encode(answer)
        _stats(request, inference_ms=(time.perf_counter() - started) * 1000)
        return BodyResponse(
            encoded.body, encoded.media_type, {**encoded.headers, MODEL_VERSION_HEADER: model.manifest.version}
        )

    async def predict(self, request: Request) -> Response:
        """Task API: instances in, predictions out."""
        self.check_name(request)
        codecs.require_json(request.headers)
        decoded = codecs.V1_TASK.decode(await self.body(request), request.headers)
        model = await self.model(request)
        started = time.perf_counter()
        answer = await self.call(request, operations.predict, model, decoded)
        encoded = codecs.V1_TASK.encode(answer)
        _stats(request, inference_ms=(time.perf_counter() - started) * 1000, instances=len(decoded.instances))
        return BodyResponse(encoded.body, encoded.media_type, {MODEL_VERSION_HEADER: model.manifest.version})

    async def metadata(self, request: Request) -> Response:
        """Model metadata: tensors, task, provider, processing."""
        model = await self.model(request)
        return json_response(operations.metadata(model, versions=self.served.versions), version=model.manifest.version)

    async def model_ready(self, request: Request) -> Response:
        """200 once the model has loaded (loading it if needed)."""
        model = await self.model(request)
        return json_response({"name": model.manifest.name, "ready": True}, version=model.manifest.version)

    async def catalog(self, request: Request) -> Response:
        """This process's model."""
        try:
            entries = [operations.catalog_entry(await self.model(request))]
        except ModelrailError:
            entries = [
                {
                    "name": self.settings.model_name,
                    "version": self.settings.model_version,
                    "task": None,
                    "target": None,
                    "ready": False,
                }
            ]
        return json_response({"models": entries})

    async def live(self, request: Request) -> Response:
        """The process answers."""
        del request
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        """200 when the model is loaded or loads now; 503 otherwise."""
        await self.model(request)
        return json_response({"ready": True})

    async def server_metadata(self, request: Request) -> Response:
        """Server metadata: name, version and the protocol extensions served."""
        del request
        return json_response(server_metadata())

    def handlers(self) -> dict[Operation, Handler]:
        """Operation -> handler (``/openapi.json`` is FastAPI's own)."""
        return {
            Operation.V1_PREDICT: self.predict,
            Operation.V2_INFER: self.infer,
            Operation.V2_MODEL_METADATA: self.metadata,
            Operation.V2_MODEL_READY: self.model_ready,
            Operation.V1_CATALOG: self.catalog,
            Operation.V2_HEALTH_LIVE: self.live,
            Operation.V2_HEALTH_READY: self.ready,
            Operation.V2_SERVER_METADATA: self.server_metadata,
        }


def _stats(request: Request, **values: Any) -> None:
    request.scope.setdefault("state", {}).setdefault(REQUEST_STATS_STATE, {}).update(values)
