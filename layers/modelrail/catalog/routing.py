"""The catalog's routes (``routes.CATALOG_ROUTES``) answered as Lambda proxy responses."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from modelrail.catalog.openapi import build_openapi, load_openapi_template
from modelrail.catalog.readiness import Readiness, describe_endpoint_probe
from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.errors import NO_SUCH_ROUTE_MESSAGE, ModelUnavailableError, NotFoundError, shown_request
from modelrail.proxy_responses import error_response, json_response
from modelrail.routes import CATALOG_ROUTES, Operation, Route, route_path
from modelrail.server_metadata import server_metadata


class Catalog:
    """Answers the catalog routes from a list of entries."""

    def __init__(
        self,
        entries: Sequence[CatalogEntry],
        *,
        readiness: Readiness | None = None,
        openapi_template: Mapping[str, Any] | None = None,
        auth: str = "api-key",
    ) -> None:
        self.entries = list(entries)
        self.readiness = readiness or Readiness(describe_endpoint_probe)
        self._template = openapi_template
        self.auth = auth
        self._routes: dict[tuple[str, str], Route] = {(route.method, route.path): route for route in CATALOG_ROUTES}

    def models(self) -> dict[str, Any]:
        """``GET /v1/models``."""
        listed = []
        for entry in self.entries:
            ready, _ = self.readiness.check(entry)
            listed.append(
                {
                    "name": entry.name,
                    "version": entry.version,
                    "task": entry.task,
                    "target": entry.target,
                    "ready": ready,
                }
            )
        return {"models": listed}

    def not_ready(self) -> list[str]:
        """``name (status)`` of every model that cannot answer now."""
        found = []
        for entry in self.entries:
            ready, status = self.readiness.check(entry)
            if not ready:
                found.append(f"{entry.name} ({status})")
        return found

    def openapi(self, server_url: str | None) -> dict[str, Any]:
        """``GET /openapi.json``."""
        template = self._template if self._template is not None else load_openapi_template()
        return build_openapi(template, self.entries, server_url=server_url, auth=self.auth)

    def answer(self, method: str, path: str, *, server_url: str | None = None) -> dict[str, Any]:
        """The Lambda proxy response for one request."""
        route = self._routes.get((method.upper(), route_path(path)))
        if route is None:
            return error_response(NotFoundError(f"{NO_SUCH_ROUTE_MESSAGE} (got {shown_request(method, path)})"))
        if route.operation is Operation.V2_HEALTH_READY:
            waiting = self.not_ready()
            if waiting:
                return error_response(ModelUnavailableError(f"not ready: {', '.join(waiting)}"))
            return json_response(200, {"ready": True})
        if route.operation is Operation.OPENAPI:
            return json_response(200, self.openapi(server_url))
        bodies: dict[Operation, Callable[[], dict[str, Any]]] = {
            Operation.V2_SERVER_METADATA: server_metadata,
            Operation.V1_CATALOG: self.models,
            Operation.V2_HEALTH_LIVE: lambda: {"live": True},
        }
        return json_response(200, bodies[route.operation]())
