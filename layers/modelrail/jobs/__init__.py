"""Jobs: work past the synchronous limits, through the job bucket and a queue per model.

``api`` answers the job routes (the jobs API function, stdlib + boto3 only), ``worker`` runs a job through the
model (the model's image with another handler), ``state`` is job.json and the bucket, ``client`` is what
``modelrail job`` uses. Names, keys and limits: ``modelrail.contract.jobs``.
"""
