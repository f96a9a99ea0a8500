"""The AWS contract: every rule the stacks (``infra/``) and local mode (``modelrail.local``) must both follow.

``infra/`` renders these tables into CloudFormation properties and VTL; local mode and the runtime read them
directly, so the two sides cannot drift. One module per concern, standard library only (the catalog function
imports them on the bare Lambda runtime):

- ``auth``: how callers authenticate (``api-key`` or ``iam``).
- ``statuses``: HTTP status -> error code, and the ``Retry-After`` seconds sent with a status.
- ``gateway``: API Gateway's own answers (gateway responses) and what the OpenAPI document says of them.
- ``sagemaker``: how ``InvokeEndpoint`` failures become the SPEC's errors on a GPU route.
- ``functions``: the catalog's memory and timeout, handler paths, and the environment of each function/container.
- ``catalog_entry``: one deployed model as the catalog function reads it from the deployed-model list.
- ``releases``: which version answers unversioned traffic (live, canary) and with what weight.
- ``stack``: a stage's stack name and the outputs the command line reads (``modelrail deploy``, ``predict``,
  ``status``).

Three shared tables predate this package and stay where every side already reads them: the route table
(``modelrail.routes``), which bodies API Gateway treats as binary (``modelrail.binary_media``) and what reaches
``InvokeEndpoint`` (``modelrail.invoke_endpoint``); environment variable names are in ``modelrail.constants``.
"""
