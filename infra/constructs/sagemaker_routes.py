"""A GPU model's routes, answered by SageMaker ``InvokeEndpoint`` straight from API Gateway.

No function sits in the hot path: an AWS service integration signs the call with a role that may invoke this
one endpoint only. Request parameters (or, on versioned routes, templates) name the operation
(``infra/sagemaker_requests.py``); integration responses turn SageMaker's failures into the SPEC's errors
(``infra/sagemaker_errors.py`` holds the table and generates their VTL).

Pinned routes (``/versions/<v>/``) add ``X-Amzn-SageMaker-Target-Variant`` with that version's variant as a static
value, so SageMaker invokes exactly that variant whatever the weights ("TargetVariant: ... this parameter overrides
the default behavior for the endpoint, which is to distribute the invocation traffic based on the variant weights",
SageMaker Runtime API, InvokeEndpoint; the header is its REST binding). Unversioned routes send none and are split
by weight.

Every body is binary to this API (``binaryMediaTypes: */*``), so each integration response says how its body
converts ("Content type conversions in API Gateway", response table): the 200 answer uses ``CONVERT_TO_BINARY``,
which hands the container's bytes over unchanged whatever the caller's Accept ("Binary data | A text type |
CONVERT_TO_BINARY -> Binary data", and the same for a binary Accept); the error answers use
``CONVERT_TO_TEXT`` so their templates run, on SageMaker's error document base64-encoded (the templates decode
it, ``infra/sagemaker_errors.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.inference_api import InferenceApi
from infra.sagemaker_errors import answer_statuses, integration_answers
from infra.sagemaker_requests import (
    JSON_CONTENT_TYPE,
    content_handling,
    method_request_parameters,
    passthrough_behavior,
    request_parameters,
    request_templates,
)
from modelrail.constants import CORS_ALLOW_ORIGIN_HEADER, MODEL_VERSION_HEADER, SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.routes import model_routes

RESPONSE_HEADERS = ("Content-Type", "Retry-After", MODEL_VERSION_HEADER)
TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"


class SageMakerRoutes(Construct):
    """Every route of one model, integrated with its endpoint; ``variants`` maps each served version to its
    production variant."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: InferenceApi,
        model_name: str,
        variants: Mapping[str, str],
        endpoint_name: str,
        endpoint_arn: str,
        cors_origin: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "InvokeRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description=f"API Gateway -> SageMaker InvokeEndpoint for model {model_name} only",
        )
        self.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn]))
        # SageMaker drops the container's headers, so the CORS header is a constant mapped onto every answer.
        cors = {f"method.response.header.{CORS_ALLOW_ORIGIN_HEADER}": f"'{cors_origin}'"} if cors_origin else {}
        integration_responses = [
            apigw.IntegrationResponse(
                status_code="200",
                content_handling=apigw.ContentHandling.CONVERT_TO_BINARY,
                response_parameters={
                    "method.response.header.Content-Type": "integration.response.header.Content-Type",
                    # The container answers with the bare version that answered in its custom attributes
                    # (modelrail.sagemaker), which InvokeEndpoint returns in this header; local mode maps it alike
                    # (modelrail.local.sagemaker_integration).
                    f"method.response.header.{MODEL_VERSION_HEADER}": (
                        f"integration.response.header.{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}"
                    ),
                    **cors,
                },
            ),
            *(
                apigw.IntegrationResponse(
                    selection_pattern=answer.selection_pattern,
                    status_code=str(answer.status),
                    response_templates={JSON_CONTENT_TYPE: answer.template},
                    content_handling=apigw.ContentHandling.CONVERT_TO_TEXT,
                    response_parameters=cors or None,
                )
                for answer in integration_answers()
            ),
        ]
        # Every header an integration response may set must be declared (optional) on the method responses.
        declared = dict.fromkeys([*(f"method.response.header.{h}" for h in RESPONSE_HEADERS), *cors], False)
        method_responses = [
            apigw.MethodResponse(status_code=str(status), response_parameters=declared) for status in answer_statuses()
        ]
        self.methods = []
        for route in model_routes(model_name, versions=list(variants)):
            parameters = request_parameters(route)
            if route.version is not None:  # a static, quoted value: no request value reaches the header
                parameters[f"integration.request.header.{TARGET_VARIANT_HEADER}"] = f"'{variants[route.version]}'"
            integration = apigw.AwsIntegration(
                service="runtime.sagemaker",
                path=f"endpoints/{endpoint_name}/invocations",
                integration_http_method="POST",
                options=apigw.IntegrationOptions(
                    credentials_role=self.role,
                    passthrough_behavior=passthrough_behavior(route),
                    content_handling=content_handling(route),
                    request_parameters=parameters,
                    request_templates=request_templates(route),
                    integration_responses=integration_responses,
                ),
            )
            self.methods.append(
                api.add_route(
                    route,
                    integration,
                    method_responses=method_responses,
                    request_parameters=method_request_parameters(route),
                    scope=self,  # the model's own resources live with its routes (its nested stack)
                )
            )
