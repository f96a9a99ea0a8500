"""A custom domain with a base path mapping: the domain, its mapping, and every function told the base path."""

from __future__ import annotations

import pytest
from fake_repo import FakeRepo, SynthResult, app_context, is_job_worker, synth

from infra.app import ContextError, read_settings
from modelrail import constants

CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def with_domain(fake_repo: FakeRepo) -> SynthResult:
    return synth(
        fake_repo,
        models=["tiny", "tiny-gpu"],
        context={
            "domain_name": "api.example.com",
            "certificate_arn": CERTIFICATE,
            "base_path": "/prod/",
            "gpu_models": "true",
        },
    )


def functions(result: SynthResult) -> list[dict]:  # type: ignore[type-arg]
    found = result.template.find_resources("AWS::Lambda::Function")
    # Not CDK's own handlers, nor the job workers, which answer no HTTP request.
    return [f for f in found.values() if f["Properties"].get("Handler") != "index.handler" and not is_job_worker(f)]


def test_the_domain_is_regional_tls_1_2_and_maps_the_stage_under_the_base_path(with_domain: SynthResult) -> None:
    with_domain.template.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": "api.example.com",
            "RegionalCertificateArn": CERTIFICATE,
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "SecurityPolicy": "TLS_1_2",
        },
    )
    with_domain.template.has_resource_properties("AWS::ApiGateway::BasePathMapping", {"BasePath": "prod"})


def test_every_function_is_told_the_base_path(with_domain: SynthResult) -> None:
    found = functions(with_domain)
    assert len(found) == 3  # the CPU model's, the catalog's and the jobs API's; GPU routes never see the path
    for function in found:
        assert function["Properties"]["Environment"]["Variables"][constants.ENV_API_BASE_PATH] == "/prod"


def test_without_a_domain_there_is_none_and_no_base_path(cpu_only: SynthResult) -> None:
    cpu_only.template.resource_count_is("AWS::ApiGateway::DomainName", 0)
    for function in functions(cpu_only):
        assert constants.ENV_API_BASE_PATH not in function["Properties"]["Environment"]["Variables"]


def test_a_base_path_alone_names_a_mapping_made_elsewhere(fake_repo: FakeRepo) -> None:
    import aws_cdk as cdk

    settings = read_settings(
        cdk.App(context=app_context(fake_repo, ["tiny"], {"base_path": "api"})), source_root=fake_repo.root
    )[0]
    assert settings.custom_domain is not None
    assert (settings.custom_domain.domain_name, settings.custom_domain.base_path) == (None, "/api")


@pytest.mark.parametrize(
    ("context", "fragment"),
    [
        ({"base_path": "v1"}, "`base_path=v1` is not a base path"),
        ({"domain_name": "api.example.com"}, "missing context value `certificate_arn`"),
    ],
)
def test_bad_domain_context_names_the_fix(fake_repo: FakeRepo, context: dict[str, str], fragment: str) -> None:
    import aws_cdk as cdk

    with pytest.raises(ContextError, match=fragment):
        read_settings(cdk.App(context=app_context(fake_repo, ["tiny"], context)), source_root=fake_repo.root)
