"""A stage of 40 models (36 CPU, 4 GPU; generated manifests, fake artifacts) synthesizes under every
CloudFormation, API Gateway and Lambda limit it meets, and prints the margins (``pytest -s`` shows them).

The limits, each from AWS's documentation:

- 500 resources per stack, and a 1 MB template body when it is read from S3, as CDK deploys it (CloudFormation
  user guide, "Understand CloudFormation quotas": "Resources: Maximum number of resources that you can declare in
  your CloudFormation template: 500"; "Template body size in an Amazon S3 object: 1 MB"). Each nested stack is a
  stack of its own and counts as one resource of its parent; all of them together may create, update or delete
  at most 2,500 resources in one operation ("Nested stacks" row of the same page).
- 300 resources per REST API (API Gateway developer guide, "Quotas for configuring and running a REST API in
  API Gateway": "Resources per API | 300 | Yes", i.e. it can be increased). Each model has nine (its literal-version
  routes, which the SPEC keeps), ten when it takes jobs (every model), plus eleven shared, so 36 CPU and 4 GPU
  models need 411: over the default. Synth refuses that with the fix (a quota increase, passed as
  ``--context api_resources_quota=<n>``); the 40-model stage here passes 450.
- 4 KB of Lambda environment variables ("Lambda quotas": "Function environment variables: 4 KB, for all
  environment variables associated with the function, in aggregate"): the catalog no longer keeps its model list
  there (``modelrail.catalog.settings``), so its environment must not grow with the models. The jobs API function's
  does: it names every model's queue (``modelrail.contract.jobs.ENV_JOB_QUEUES``, names after one URL prefix),
  measured here at its worst case (longest Region and URL suffix, ``infra.constructs.jobs_api.check_env_size``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from fake_repo import (
    TINY,
    TINY_GPU,
    FakeRepo,
    SynthResult,
    app_context,
    make_fake_repo,
    synth,
    write_artifact,
    write_model,
)

from infra.app import build_app
from infra.stacks.modelrail_stack import ScaleLimitError

STACK_RESOURCES = 500
TEMPLATE_BYTES = 1_000_000  # 1 MB from S3; CloudFormation counts the body as sent (CDK writes it minified)
NESTED_OPERATION_RESOURCES = 2500
"""'Nested stacks: maximum number of CloudFormation resources a nested stack can create, update, or delete per
operation: 2500 resources' (same CloudFormation quotas page): all the stage's stacks together, in one deploy."""
API_RESOURCES = 300
RAISED_API_RESOURCES = 450
LAMBDA_ENV_BYTES = 4 * 1024
CPU_MODELS = 36
GPU_MODELS = 4


def _models(repo_models: Path, build: Path) -> list[str]:
    names = []
    for index in range(CPU_MODELS + GPU_MODELS):
        gpu = index >= CPU_MODELS
        base = TINY_GPU if gpu else TINY
        fields: dict[str, Any] = {**base, "name": f"{'gpu' if gpu else 'cpu'}-model-{index:02d}"}
        write_model(repo_models, fields)
        write_artifact(build, fields)
        names.append(fields["name"])
    return names


@pytest.fixture(scope="module")
def repo40(tmp_path_factory: pytest.TempPathFactory) -> tuple[FakeRepo, list[str]]:
    repo = make_fake_repo(tmp_path_factory.mktemp("repo40"))
    return repo, _models(repo.models_dir, repo.build_dir)


@pytest.fixture(scope="module")
def forty(repo40: tuple[FakeRepo, list[str]]) -> SynthResult:
    repo, names = repo40
    started = time.monotonic()
    context = {"gpu_models": "true", "api_resources_quota": str(RAISED_API_RESOURCES)}
    result = synth(repo, models=names, context=context)
    print(f"\nsynth of {len(names)} models: {time.monotonic() - started:.0f} s")
    return result


def _env_bytes(function: dict[str, Any]) -> int:
    variables = function["Properties"].get("Environment", {}).get("Variables", {})
    return sum(len(key.encode()) + len(json.dumps(value).encode()) for key, value in variables.items())


@pytest.mark.slow
def test_forty_models_stay_under_every_limit(forty: SynthResult) -> None:
    lines = []
    for name, template in forty.templates.items():
        count = len(template["Resources"])
        size = (forty.outdir / name).stat().st_size
        lines.append((name, count, size))
        assert count < STACK_RESOURCES, name
        assert size < TEMPLATE_BYTES, name
    stage = lines[0]
    largest = max(lines[1:], key=lambda line: line[1])
    heaviest = max(lines[1:], key=lambda line: line[2])
    api_resources = len(forty.of_type("AWS::ApiGateway::Resource"))
    catalogs = [
        f
        for f in forty.of_type("AWS::Lambda::Function").values()
        if "catalog" in f["Properties"].get("Description", "")
    ]
    [catalog] = catalogs
    env = _env_bytes(catalog)
    total = sum(line[1] for line in lines)
    print(f"stacks: {len(lines)} (the stage's and one per model)")
    print(f"all stacks together: {total}/{NESTED_OPERATION_RESOURCES} resources per operation")
    print(
        f"stage stack: {stage[1]}/{STACK_RESOURCES} resources ({STACK_RESOURCES - stage[1]} left), "
        f"{stage[2]:,}/{TEMPLATE_BYTES:,} bytes ({stage[2] / TEMPLATE_BYTES:.1%})"
    )
    print(f"largest model stack: {largest[1]}/{STACK_RESOURCES} resources ({largest[0]})")
    print(f"heaviest model stack: {heaviest[2]:,}/{TEMPLATE_BYTES:,} bytes ({heaviest[0]})")
    (listed,) = forty.outdir.glob(
        f"asset.*/{catalog['Properties']['Environment']['Variables']['MODELRAIL_CATALOG_KEY']}"
    )
    print(
        f"API resources: {api_resources}/{API_RESOURCES} default quota ({API_RESOURCES - api_resources} left), "
        f"{RAISED_API_RESOURCES - api_resources} left of the raised {RAISED_API_RESOURCES}"
    )
    print(f"catalog environment: {env}/{LAMBDA_ENV_BYTES} bytes; its model list: {listed.stat().st_size:,} bytes in S3")
    assert forty.stack.jobs is not None
    jobs_env = forty.stack.jobs.env_bytes
    print(
        f"jobs API environment (worst case, {len(forty.stack.job_queue_names)} job queues): {jobs_env}/"
        f"{LAMBDA_ENV_BYTES} bytes ({LAMBDA_ENV_BYTES - jobs_env} left)"
    )
    assert jobs_env < LAMBDA_ENV_BYTES
    assert total < NESTED_OPERATION_RESOURCES
    assert api_resources <= RAISED_API_RESOURCES
    assert env < 512  # constant: the list is in the bucket, whatever the number of models
    assert env < LAMBDA_ENV_BYTES


@pytest.mark.slow
def test_forty_models_over_the_default_api_quota_fail_synth_with_the_fix(repo40: tuple[FakeRepo, list[str]]) -> None:
    repo, names = repo40
    app = cdk.App(context=app_context(repo, names, {"gpu_models": "true"}))
    with pytest.raises(ScaleLimitError, match=r"needs 411 API resources.*over the 300.*api_resources_quota=<n>"):
        build_app(app, source_root=repo.root)
