"""Local mode: the cloud stack on one machine, with no AWS account and no Docker.

``modelrail local up`` runs an embedded S3 server seeded with the built models, one Lambda runtime process per
CPU model (the real handler, its own cold start and env), the GPU container app per GPU model, the catalog
function, and a gateway that turns HTTP requests into API Gateway proxy events exactly as the cloud does.
``modelrail invoke`` runs one event file through the same pieces, like ``sam local invoke``.
"""
