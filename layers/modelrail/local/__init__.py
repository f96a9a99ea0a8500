"""Local mode: the cloud stack on one machine, with no AWS account and no Docker.

``modelrail local up`` runs an embedded S3 server seeded with the built models, Lambda execution environments per
CPU model (runtime processes started on demand up to its concurrency, each with the real handler, its own cold
start, env and /tmp), the GPU container app per GPU model, the catalog
function, and a gateway that turns HTTP requests into API Gateway proxy events exactly as the cloud does.
``modelrail invoke`` runs one event file through the same pieces, like ``sam local invoke``.
"""
