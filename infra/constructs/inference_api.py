"""The REST API: stage, access logs, auth (API key + usage plan, or IAM), gateway responses, routes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from infra.gateway_responses import body_template, response_headers
from infra.nag import acknowledge
from infra.scanners import skip_checkov, skip_log_group_kms
from modelrail.binary_media import BINARY_MEDIA_TYPES
from modelrail.constants import API_KEY_HEADER, CORS_ALLOW_ORIGIN_HEADER
from modelrail.contract.auth import AuthMode
from modelrail.contract.gateway import NO_SUCH_ROUTE, gateway_answers
from modelrail.routes import Route

__all__ = ["BINARY_MEDIA_TYPES", "CATCH_ALL_PATH", "ApiLimits", "InferenceApi", "catch_all_body"]

CATCH_ALL_PATH = "/{proxy+}"
"""API-key mode's catch-all resource: every path no route has, behind the same API key as the routes."""
SHARED_DEPTH = 2
"""Path parts every model shares (``/v1/models``, ``/v2/models``): they stay in the stage's stack."""
MOCK_STATUS_TEMPLATE = '{"statusCode": 404}'
JSON_CONTENT_TYPE = "application/json"


def catch_all_body() -> str:
    """What the catch-all answers a caller with a valid key: the SPEC's 404 for an unknown route."""
    return json.dumps(NO_SUCH_ROUTE.body())


@jsii.implements(cdk.IAspect)
class _TextMockIntegrations:
    """Mock integrations (CORS preflight) treat their payloads as text.

    With ``binaryMediaTypes: */*`` a mock's empty request is binary data, on which its ``{"statusCode": ...}``
    template does not run ("For a binary payload, API Gateway simply passes through the message as-is"), and the
    mock answers 500; ``contentHandling: CONVERT_TO_TEXT`` makes the payload text, so the template runs.
    """

    def visit(self, node: IConstruct) -> None:
        """Set CONVERT_TO_TEXT on every OPTIONS (CORS preflight) method's mock integration and its response."""
        if isinstance(node, apigw.CfnMethod) and node.http_method == "OPTIONS":
            node.add_property_override("Integration.ContentHandling", "CONVERT_TO_TEXT")
            node.add_property_override("Integration.IntegrationResponses.0.ContentHandling", "CONVERT_TO_TEXT")


ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "apiKeyId": "$context.identity.apiKeyId",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatencyMs": "$context.integration.latency",
    "integrationError": "$context.integration.error",
    "errorType": "$context.error.responseType",
    "error": "$context.error.message",
}
"""One JSON line per request: ids, sizes and timings, never bodies."""


@dataclass(frozen=True)
class ApiLimits:
    """Usage-plan throttle and quota, also the stage-wide ceiling."""

    rate_per_s: float
    burst: int
    quota_per_day: int


class InferenceApi(Construct):
    """The API and its stage; ``add_route`` creates exactly one method per route-table entry."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        auth: AuthMode,
        limits: ApiLimits,
        cors_origin: str | None,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        account_logging_role: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.auth = auth
        self.stage_name = stage
        self._method_acks: list[tuple[str, str]] = []
        self._scoped: dict[tuple[str, str], apigw.Resource] = {}
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=log_retention, removal_policy=removal_policy)
        cors = (
            apigw.CorsOptions(
                allow_origins=[cors_origin],
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],  # DELETE: cancel a job
                allow_headers=["Content-Type", API_KEY_HEADER, "Inference-Header-Content-Length", "Authorization"],
            )
            if cors_origin
            else None
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            description=f"modelrail inference API ({stage})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Every body is binary: Lambda gets it base64-encoded and byte-exact, whatever (or whether) its
            # Content-Type (modelrail.binary_media has the rule and the AWS pages behind it).
            binary_media_types=list(BINARY_MEDIA_TYPES),
            # Access logs need the Region-wide API Gateway CloudWatch role ("Set up CloudWatch logging for REST
            # APIs in API Gateway"); without one, creating the stage fails with "CloudWatch Logs role ARN must be
            # set in account settings to enable logging". It is one AWS::ApiGateway::Account per account and
            # Region, so a stack creates it only when asked (--context api_gateway_account_role=true), and keeps it
            # when deleted: API Gateway has no call that resets the setting, and other APIs rely on it.
            cloud_watch_role=account_logging_role,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN if account_logging_role else None,
            default_cors_preflight_options=cors,
            deploy_options=apigw.StageOptions(
                stage_name=stage,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
                metrics_enabled=True,
                # Active X-Ray tracing (SPEC "Tracing"): API Gateway samples requests and creates its
                # AWSServiceRoleForAPIGateway service-linked role if the account lacks it (API Gateway guide,
                # "Set up AWS X-Ray with API Gateway REST APIs").
                tracing_enabled=True,
                throttling_rate_limit=limits.rate_per_s,
                throttling_burst_limit=limits.burst,
            ),
        )
        skip_log_group_kms(self.access_logs)
        skip_checkov(
            self.api.deployment_stage,
            "CKV_AWS_120",
            "No stage cache: every inference is a POST whose answer depends on its body, which API Gateway's cache "
            "does not key on, and the catalog's answers must follow deploys; a cache cluster is billed per hour.",
        )
        self.request_validator = self.api.add_request_validator(
            "Validate", validate_request_parameters=True, validate_request_body=True
        )
        self._add_gateway_responses(cors_origin)
        cdk.Aspects.of(self).add(_TextMockIntegrations())
        self.api_key: apigw.IApiKey | None = None
        self.catch_all: apigw.Method | None = None
        if auth is AuthMode.API_KEY:
            self.api_key = self._add_usage_plan(limits)
            self.catch_all = self._add_catch_all(cors_origin)
        acknowledge(
            self.api,
            "APIG3",
            "No WAF web ACL by default: API keys, usage-plan throttles and quotas bound abuse; attach a web ACL to "
            "the stage where a deployment needs IP or rate rules beyond that.",
        )
        acknowledge(
            self.api,
            "APIG6",
            "Access logs (one JSON line per request, with integration status and error type) are on; execution "
            "logging needs the account-wide API Gateway CloudWatch role, which one stack must not own.",
        )
        if account_logging_role:
            acknowledge(
                self.api,
                "IAM4",
                "The account-wide API Gateway logging role uses AWS's AmazonAPIGatewayPushToCloudWatchLogs policy, as "
                "API Gateway's guide prescribes; it is created only with --context api_gateway_account_role=true.",
                findings=(
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
                ),
            )
        if auth is AuthMode.API_KEY:
            for rule in ("APIG4", "COG4"):
                self._method_acks.append(
                    (
                        rule,
                        "API-key auth with a usage plan is the SPEC's default (`--context auth=iam` switches every "
                        "route to SigV4); no Cognito user pool exists for machine-to-machine inference calls.",
                    )
                )
        elif cors:
            for rule in ("APIG4", "COG4"):
                self._method_acks.append(
                    (rule, "CORS preflight (OPTIONS) carries no credentials by the CORS standard.")
                )
        for rule, reason in self._method_acks:
            acknowledge(self.api, rule, reason)

    def _add_usage_plan(self, limits: ApiLimits) -> apigw.IApiKey:
        key = self.api.add_api_key("DefaultKey", description="modelrail default API key")
        plan = self.api.add_usage_plan(
            "UsagePlan",
            description="modelrail default usage plan",
            throttle=apigw.ThrottleSettings(rate_limit=limits.rate_per_s, burst_limit=limits.burst),
            quota=apigw.QuotaSettings(limit=limits.quota_per_day, period=apigw.Period.DAY),
        )
        plan.add_api_key(key)
        plan.add_api_stage(stage=self.api.deployment_stage)
        return key

    def _add_catch_all(self, cors_origin: str | None) -> apigw.Method:
        """``ANY /{proxy+}`` with the API key required, answering the SPEC's 404 from a mock integration.

        A path no route has then needs a valid key like every route: without one it is INVALID_API_KEY (403),
        with one the mock's 404. (API Gateway picks the most specific resource first, so routes are unaffected.)
        """
        headers = {"method.response.header.Content-Type": f"'{JSON_CONTENT_TYPE}'"}
        if cors_origin:
            headers[f"method.response.header.{CORS_ALLOW_ORIGIN_HEADER}"] = f"'{cors_origin}'"
        integration = apigw.MockIntegration(
            request_templates={JSON_CONTENT_TYPE: MOCK_STATUS_TEMPLATE},
            passthrough_behavior=apigw.PassthroughBehavior.NEVER,
            content_handling=apigw.ContentHandling.CONVERT_TO_TEXT,
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code=str(NO_SUCH_ROUTE.error.status),
                    content_handling=apigw.ContentHandling.CONVERT_TO_TEXT,
                    response_templates={JSON_CONTENT_TYPE: catch_all_body()},
                    response_parameters=headers,
                )
            ],
        )
        resource = self.api.root.resource_for_path(CATCH_ALL_PATH)
        return resource.add_method(
            "ANY",
            integration,
            api_key_required=True,
            method_responses=[
                apigw.MethodResponse(
                    status_code=str(NO_SUCH_ROUTE.error.status), response_parameters=dict.fromkeys(headers, True)
                )
            ],
        )

    def _add_gateway_responses(self, cors_origin: str | None) -> None:
        for answer in gateway_answers(self.auth):
            headers = response_headers(answer)
            if cors_origin:
                headers[CORS_ALLOW_ORIGIN_HEADER] = f"'{cors_origin}'"
            self.api.add_gateway_response(
                f"Gateway-{answer.response_type}",
                type=apigw.ResponseType.of(answer.response_type),
                status_code=None if answer.status is None else str(answer.status),
                response_headers=headers,
                templates={"application/json": body_template(answer)},
            )

    def resource_for(self, path: str, scope: Construct | None = None) -> apigw.IResource:
        """The API resource for ``path``; with ``scope`` (a model's nested stack), the parts below the shared
        ``SHARED_DEPTH`` prefixes are created there, so a model's resources count against its own stack."""
        parts = [part for part in path.split("/") if part]
        if scope is None or len(parts) <= SHARED_DEPTH:
            return self.api.root.resource_for_path(path)
        if not any(stored == scope.node.path for stored, _ in self._scoped):
            for rule, reason in self._method_acks:  # the API's method-level acknowledgements hold there too
                acknowledge(scope, rule, reason)
        resource: apigw.IResource = self.api.root.resource_for_path("/" + "/".join(parts[:SHARED_DEPTH]))
        for depth in range(SHARED_DEPTH + 1, len(parts) + 1):
            key = (scope.node.path, "/".join(parts[:depth]))
            if key not in self._scoped:
                construct_id = "Resource-" + "-".join(parts[:depth]).replace("{", "").replace("}", "")
                self._scoped[key] = apigw.Resource(scope, construct_id, parent=resource, path_part=parts[depth - 1])
                cdk.Aspects.of(self._scoped[key]).add(_TextMockIntegrations())
            resource = self._scoped[key]
        return resource

    def add_route(
        self,
        route: Route,
        integration: apigw.Integration,
        *,
        method_responses: Sequence[apigw.MethodResponse] | None = None,
        request_parameters: dict[str, bool] | None = None,
        scope: Construct | None = None,
    ) -> apigw.Method:
        """One method for one route-table entry, authenticated as the API's auth mode says (in ``scope``'s
        stack when given, see ``resource_for``)."""
        resource = self.resource_for(route.path, scope)
        path_parameters = {
            f"method.request.path.{part[1:-1]}": True for part in route.path.split("/") if part.startswith("{")
        }
        return resource.add_method(
            route.method,
            integration,
            api_key_required=self.auth is AuthMode.API_KEY,
            authorization_type=apigw.AuthorizationType.IAM
            if self.auth is AuthMode.IAM
            else apigw.AuthorizationType.NONE,
            request_validator=self.request_validator,
            request_parameters={**path_parameters, **(request_parameters or {})},
            method_responses=list(method_responses) if method_responses else None,
        )
