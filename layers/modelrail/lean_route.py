"""``LeanRoute``: FastAPI's route without its per-request parameter machinery, for handlers that take the Request.

Every modelrail handler is ``async def handler(request: Request) -> Response``: it reads its own body and path
parameters and returns a finished ``Response``. FastAPI's request handler still solves the (empty) dependency
graph, records telemetry, opens two exit stacks (for dependencies with ``yield``, which modelrail has none of) and
considers response models on every call: a large share of a small model's warm overhead (``bench/warm_overhead.py``,
``docs/performance.md``). ``get_route_handler`` is the hook FastAPI documents for custom route classes ("Custom
Request and APIRoute class" in FastAPI's advanced user guide); here the endpoint itself is the handler, and the
route's ASGI app is Starlette's own ``request_response`` around it, which still hands every exception to the app's
exception handlers. Routing, path parameters and the OpenAPI document stay FastAPI's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import request_response


class LeanRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is called with the ``Request`` and returns the ``Response`` itself."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        """Refuse an endpoint that would need FastAPI to solve parameters; serve the others through Starlette."""
        parameters = list(inspect.signature(endpoint).parameters.values())
        if not inspect.iscoroutinefunction(endpoint) or len(parameters) != 1:
            raise TypeError(f"{path}: a LeanRoute endpoint is `async def handler(request) -> Response`")
        super().__init__(path, endpoint, **kwargs)
        if kwargs.get("max_body_size") is None:  # FastAPI's own body limit would wrap the app; keep it if set
            self.app = request_response(endpoint)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint itself: it takes only the request, so there is nothing to solve or serialize."""
        return self.endpoint
