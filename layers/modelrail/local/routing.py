"""The local gateway's route table, built from ``modelrail.routes`` exactly as the CDK stack builds API Gateway's."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from modelrail.routes import CATALOG_ROUTES, JOB_ROUTES, Route, job_submit_route, model_routes, route_path

CATALOG = "catalog"
"""The compute answering ``routes.CATALOG_ROUTES``; a reserved name in local mode."""
JOBS = "jobs"
"""The compute answering ``routes.JOB_ROUTES`` and every model's job submit route; reserved too."""


@dataclass(frozen=True)
class RouteMatch:
    """A request's route, the compute that answers it, and the path parameters API Gateway extracts."""

    route: Route
    compute: str
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Resource:
    path: str
    pattern: re.Pattern[str]
    methods: dict[str, tuple[Route, str]]


def _compile(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


class RouteTable:
    """Path -> resource -> method, as API Gateway resolves them: a literal path segment wins over a parameter."""

    def __init__(self, routes: Iterable[tuple[Route, str]]) -> None:
        resources: dict[str, _Resource] = {}
        for route, compute in routes:
            resource = resources.setdefault(route.path, _Resource(route.path, _compile(route.path), {}))
            if route.method in resource.methods:
                raise ValueError(f"two routes for {route.method} {route.path}")
            resource.methods[route.method] = (route, compute)
        # Fewer parameters first: API Gateway prefers /v2/models/x/ready over /v2/models/x/versions/{version}.
        self._resources = sorted(resources.values(), key=lambda resource: resource.path.count("{"))
        # Every resource API Gateway creates: the routes' paths, each prefix of one, and the root.
        prefixes = {"/"}
        for path in resources:
            parts = path.strip("/").split("/")
            prefixes |= {"/" + "/".join(parts[:end]) for end in range(1, len(parts) + 1)}
        self._all_resources = [_compile(path) for path in sorted(prefixes)]

    @classmethod
    def for_models(cls, models: Mapping[str, Sequence[str]], *, jobs: Sequence[str] = ()) -> RouteTable:
        """Every model's routes (name -> served versions) plus the catalog's; with ``jobs`` (models that take
        jobs), the jobs function's routes too."""
        for reserved in (CATALOG, JOBS):
            if reserved in models:
                raise ValueError(
                    f"a model may not be called `{reserved}` in local mode: that name is the {reserved} function's"
                )
        pairs = [(route, name) for name, versions in models.items() for route in model_routes(name, versions=versions)]
        pairs += [(route, CATALOG) for route in CATALOG_ROUTES]
        if jobs:
            pairs += [(job_submit_route(name), JOBS) for name in jobs]
            pairs += [(route, JOBS) for route in JOB_ROUTES]
        return cls(pairs)

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route for a request, or ``None`` (API Gateway's 404 for an unknown path *or* method).

        One trailing slash is ignored, as API Gateway ignores it (``routes.route_path``).
        """
        path = route_path(path)
        for resource in self._resources:
            found = resource.pattern.fullmatch(path)
            if found is None:
                continue
            hit = resource.methods.get(method)
            if hit is None:
                return None
            return RouteMatch(hit[0], hit[1], dict(found.groupdict()))
        return None

    def has_resource(self, path: str) -> bool:
        """Whether API Gateway has a resource at ``path`` (a route's, or one on the way to it), with or without
        methods: a missing method there is MISSING_AUTHENTICATION_TOKEN, not the catch-all. One trailing slash is
        ignored, as in ``match``."""
        path = route_path(path)
        return any(pattern.fullmatch(path) for pattern in self._all_resources)

    @property
    def routes(self) -> list[tuple[Route, str]]:
        """Every route and its compute."""
        return [hit for resource in self._resources for hit in resource.methods.values()]
