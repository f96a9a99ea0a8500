"""The REST API: stage, access logs, usage plan, binary types, gateway responses, CORS only when asked."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match
from fake_repo import FakeRepo, SynthResult, synth

from infra.constructs.inference_api import BINARY_MEDIA_TYPES, CATCH_ALL_PATH, catch_all_body
from infra.gateway_responses import body_template
from modelrail.binary_media import request_is_binary
from modelrail.contract.auth import AuthMode
from modelrail.contract.gateway import gateway_answers
from modelrail.errors import NO_SUCH_ROUTE_MESSAGE


def test_stage_writes_json_access_logs_and_metrics(cpu_only: SynthResult) -> None:
    (stage,) = cpu_only.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "dev"
    fields = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "integrationStatus", "errorType", "apiKeyId"} <= set(fields)
    assert not any("body" in value.lower() for value in fields.values())
    assert props["MethodSettings"][0]["MetricsEnabled"] is True


def test_usage_plan_throttles_and_caps_the_default_key(cpu_only: SynthResult) -> None:
    cpu_only.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 50, "BurstLimit": 100},
            "Quota": {"Limit": 100000, "Period": "DAY"},
            "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
        },
    )
    cpu_only.template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)


def test_binary_bodies_pass_as_bytes(cpu_only: SynthResult) -> None:
    cpu_only.template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"BinaryMediaTypes": list(BINARY_MEDIA_TYPES)}
    )


def test_every_body_is_binary_so_tritonclient_needs_no_content_type() -> None:
    assert BINARY_MEDIA_TYPES == ("*/*",)
    for content_type in (None, "application/json", "application/octet-stream", "text/plain; charset=utf-8"):
        assert request_is_binary(content_type)


def test_without_a_key_unknown_paths_hit_a_key_protected_catch_all(cpu_only: SynthResult) -> None:
    methods = {key: value for key, value in cpu_only.methods().items() if key[1] == CATCH_ALL_PATH}
    assert set(methods) == {("ANY", CATCH_ALL_PATH)}
    (method,) = methods.values()
    assert method["ApiKeyRequired"] is True
    integration = method["Integration"]
    assert integration["Type"] == "MOCK"
    # binaryMediaTypes */* makes the mock's request binary: only as text does its statusCode template run
    assert integration["ContentHandling"] == "CONVERT_TO_TEXT"
    assert integration["RequestTemplates"] == {"application/json": '{"statusCode": 404}'}
    (response,) = integration["IntegrationResponses"]
    assert response["StatusCode"] == "404"
    assert response["ContentHandling"] == "CONVERT_TO_TEXT"
    assert json.loads(response["ResponseTemplates"]["application/json"]) == {
        "error": NO_SUCH_ROUTE_MESSAGE,
        "code": "not_found",
    }
    assert response["ResponseTemplates"]["application/json"] == catch_all_body()
    assert response["ResponseParameters"]["method.response.header.Content-Type"] == "'application/json'"


def test_iam_mode_has_no_catch_all(iam_prod: SynthResult) -> None:
    assert not [key for key in iam_prod.methods() if key[1] == CATCH_ALL_PATH]


def test_cors_preflight_mocks_run_their_template_on_text(iam_prod: SynthResult) -> None:
    options = [value for key, value in iam_prod.methods().items() if key[0] == "OPTIONS"]
    assert options
    for method in options:
        integration = method["Integration"]
        assert integration["Type"] == "MOCK"
        assert integration["ContentHandling"] == "CONVERT_TO_TEXT"
        assert all(r["ContentHandling"] == "CONVERT_TO_TEXT" for r in integration["IntegrationResponses"])


def test_gateway_answers_use_the_error_body(cpu_only: SynthResult, iam_prod: SynthResult) -> None:
    for result, auth in ((cpu_only, AuthMode.API_KEY), (iam_prod, AuthMode.IAM)):
        responses = {
            r["Properties"]["ResponseType"]: r["Properties"]
            for r in result.of_type("AWS::ApiGateway::GatewayResponse").values()
        }
        for answer in gateway_answers(auth):
            props = responses[answer.response_type]
            assert props.get("StatusCode") == (None if answer.status is None else str(answer.status))
            assert props["ResponseTemplates"] == {"application/json": body_template(answer)}
            assert props["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"


def test_cors_is_off_unless_configured(cpu_only: SynthResult, iam_prod: SynthResult) -> None:
    assert not [key for key in cpu_only.methods() if key[0] == "OPTIONS"]
    assert [key for key in iam_prod.methods() if key[0] == "OPTIONS"]
    (invalid_key,) = (
        r
        for r in iam_prod.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "THROTTLED"
    )
    headers = invalid_key["Properties"]["ResponseParameters"]
    assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"


def test_the_account_logging_role_is_created_only_when_asked(cpu_only: SynthResult, fake_repo: FakeRepo) -> None:
    # Access logs need API Gateway's Region-wide CloudWatch role; without it (and no role set in the account)
    # creating the stage fails. It is one per account and Region, so it is opt-in and outlives the stack.
    assert cpu_only.of_type("AWS::ApiGateway::Account") == {}
    result = synth(fake_repo, models=["tiny"], context={"api_gateway_account_role": "true"})
    (account,) = result.of_type("AWS::ApiGateway::Account").values()
    assert account["DeletionPolicy"] == "Retain"
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = result.resources[role_id]
    assert role["DeletionPolicy"] == "Retain"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["Properties"]["ManagedPolicyArns"])
