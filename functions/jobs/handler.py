"""The jobs API function: a zip package on the plain Python runtime, the modelrail layer supplies the code.

Answers ``POST /v1/models/<name>/jobs`` for every model that takes jobs, and ``routes.JOB_ROUTES``.
"""

from modelrail.jobs.handler import handle_event

handler = handle_event
"""The jobs API function's Lambda handler: a REST API (v1) proxy event in, a proxy response out."""
