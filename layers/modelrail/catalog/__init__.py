"""The catalog function: ``GET /v2``, ``GET /v1/models``, the health routes and ``/openapi.json`` for the whole API.

It runs on the plain Lambda Python runtime with the ``modelrail`` package attached as a layer installed without
its dependencies, so it imports only the standard library, boto3 (part of that runtime) and stdlib-only
modelrail modules. One module per job: ``settings`` (what is deployed, the auth mode), ``readiness`` (can each
model answer), ``openapi`` (the whole API's document), ``routing`` (the routes' answers), ``handler`` (the
Lambda entry point: logging, CORS, never raising; re-exported here).
"""

from modelrail.catalog.handler import handle_event

__all__ = ["handle_event"]
