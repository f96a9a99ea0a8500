"""The catalog Lambda function: a zip package on the plain Python runtime, the modelrail layer supplies the code.

Answers ``GET /v1/models``, ``/v2/health/live``, ``/v2/health/ready`` and ``/openapi.json`` (``routes.CATALOG_ROUTES``).
"""

from modelrail.catalog.handler import handle_event

handler = handle_event
