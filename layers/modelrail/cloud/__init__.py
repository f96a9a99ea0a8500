"""The command line's view of a deployed stage: ``modelrail deploy``, ``modelrail status`` and the AWS calls they make.

One module per concern: ``session`` (credentials and region, checked before anything slow starts), ``outputs``
(the stack's outputs and the API key's value), ``cdk`` (the pinned cdk CLI and its arguments), ``resources`` (the
stack's resources, nested stacks included), ``releases`` (each model's live and canary versions, weights and
rollout). boto3 is imported only inside the functions that call AWS.
"""
