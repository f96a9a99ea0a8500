"""API Gateway's own answers: the SPEC's JSON body, codes from the error family, every type covered."""

from __future__ import annotations

import json

import pytest
from aws_cdk import aws_apigateway as apigw

from infra.gateway_responses import OWN_MESSAGE, body_template, response_headers
from modelrail import errors
from modelrail.contract.auth import AuthMode
from modelrail.contract.gateway import gateway_answers

ALL_CODES = {
    cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.ModelrailError)
}


def rendered(template: str) -> dict[str, str]:
    """What API Gateway sends: ``$context.error.messageString`` is its own message, already quoted."""
    body: dict[str, str] = json.loads(template.replace(OWN_MESSAGE, json.dumps('Its "own" message')))
    return body


@pytest.mark.parametrize("auth", list(AuthMode))
def test_every_answer_is_the_error_body_with_a_known_code(auth: AuthMode) -> None:
    for answer in gateway_answers(auth):
        body = rendered(body_template(answer))
        assert set(body) == {"error", "code"}
        assert body["code"] in ALL_CODES
        assert body["error"]


@pytest.mark.parametrize("auth", list(AuthMode))
def test_every_gateway_response_type_is_customized(auth: AuthMode) -> None:
    documented = {
        value.response_type
        for name in dir(apigw.ResponseType)
        if name.isupper()
        for value in [getattr(apigw.ResponseType, name)]
    }
    types = [answer.response_type for answer in gateway_answers(auth)]
    assert len(types) == len(set(types))
    assert set(types) == documented


def test_missing_or_wrong_key_and_a_missing_method_answer_alike() -> None:
    """Without a key, a method a known path lacks (MISSING_AUTHENTICATION_TOKEN) and an unknown path (the
    key-protected catch-all: INVALID_API_KEY) must not be told apart: one status, one body."""
    answers = {a.response_type: a for a in gateway_answers(AuthMode.API_KEY)}
    key = answers["INVALID_API_KEY"]
    assert (key.status, rendered(body_template(key))) == (
        403,
        {"error": errors.API_KEY_REJECTED_MESSAGE, "code": "forbidden"},
    )
    route = answers["MISSING_AUTHENTICATION_TOKEN"]
    assert (route.status, rendered(body_template(route)), response_headers(route)) == (
        key.status,
        rendered(body_template(key)),
        response_headers(key),
    )


def test_iam_mode_reports_an_unsigned_request_as_forbidden() -> None:
    answers = {a.response_type: a for a in gateway_answers(AuthMode.IAM)}
    assert answers["MISSING_AUTHENTICATION_TOKEN"].status == 403


def test_throttling_too_large_and_timeout_use_the_spec_codes() -> None:
    answers = {a.response_type: a for a in gateway_answers(AuthMode.API_KEY)}
    expected = {
        "THROTTLED": (429, "throttled"),
        "QUOTA_EXCEEDED": (429, "throttled"),
        "REQUEST_TOO_LARGE": (413, "payload_too_large"),
        "INTEGRATION_TIMEOUT": (504, "upstream_timeout"),
        "INTEGRATION_FAILURE": (503, "model_unavailable"),
    }
    for response_type, (status, code) in expected.items():
        answer = answers[response_type]
        assert (answer.status, rendered(body_template(answer))["code"]) == (status, code)
    assert response_headers(answers["THROTTLED"])["Retry-After"] == "'1'"
    assert "Retry-After" in response_headers(answers["INTEGRATION_FAILURE"])


def test_defaults_keep_the_status_of_whatever_fell_through() -> None:
    answers = {a.response_type: a for a in gateway_answers(AuthMode.API_KEY)}
    assert answers["DEFAULT_4XX"].status is None
    assert answers["DEFAULT_5XX"].status is None
