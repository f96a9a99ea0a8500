"""Releases in the cloud (issue 14): every served version uploaded and reachable on its pinned routes, unversioned
routes on `live`, a canary rolled out by CodeDeploy (Lambda) or weighted variants (SageMaker), with alarms that
roll it back."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match
from fake_repo import TINY, TINY_GPU, FakeRepo, SynthResult, make_release_repo, synth

from infra.releases import ReleaseNameError, ReleaseSettingError, pinned_alias
from modelrail import constants
from modelrail.contract.releases import variant_name

CANARY = {"served": ["3", "4", "5"], "live": "4", "canary": {"version": "5", "percent": 10, "bake_minutes": 5}}
QUIET_CANARY = {"served": ["3", "5"], "live": "3", "canary": {"version": "5", "percent": 0}}
GPU_CANARY = {"served": ["1", "2"], "live": "1", "canary": {"version": "2", "percent": 25, "bake_minutes": 30}}


@pytest.fixture(scope="module")
def canary_repo(tmp_path_factory: pytest.TempPathFactory) -> FakeRepo:
    return make_release_repo(tmp_path_factory.mktemp("canary"), {**TINY, "version": "5"}, CANARY, older=["3", "4"])


@pytest.fixture(scope="module")
def canary(canary_repo: FakeRepo) -> SynthResult:
    """`tiny` built at 3, 4 and 5: 4 live, 5 a 10% canary baking 5 minutes."""
    return synth(canary_repo, models=["tiny"])


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """`tiny` at 3 (live) and 5, a 0% canary: reachable on its pinned routes only."""
    repo = make_release_repo(tmp_path_factory.mktemp("quiet"), {**TINY, "version": "5"}, QUIET_CANARY, older=["3"])
    return synth(repo, models=["tiny"])


@pytest.fixture(scope="module")
def gpu(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """`tiny-gpu` at 1 (live) and 2, a 25% canary."""
    repo = make_release_repo(tmp_path_factory.mktemp("gpu"), {**TINY_GPU, "version": "2"}, GPU_CANARY, older=["1"])
    return synth(repo, models=["tiny-gpu"], context={"gpu_models": "true"})


def model_function(result: SynthResult) -> tuple[str, dict[str, Any]]:
    (found,) = result.template.find_resources(
        "AWS::Lambda::Function",
        {
            "Properties": {
                "Environment": {"Variables": {constants.ENV_MODEL_NAME: "tiny"}},
                "ImageConfig": Match.absent(),  # the model function, not its job worker (another CMD)
            }
        },
    ).items()
    return found


def aliases(result: SynthResult) -> dict[str, dict[str, Any]]:
    return {a["Properties"]["Name"]: a for a in result.of_type("AWS::Lambda::Alias").values()}


def integration_target(method: dict[str, Any]) -> str:
    """The logical id a method's Lambda integration URI names (the alias it invokes)."""
    refs = [part["Ref"] for part in method["Integration"]["Uri"]["Fn::Join"][1] if isinstance(part, dict)]
    (alias,) = [ref for ref in refs if not ref.startswith("AWS::")]
    return str(alias)


def logical_id(result: SynthResult, cfn_type: str, name: str) -> str:
    (found,) = [k for k, v in result.of_type(cfn_type).items() if v["Properties"].get("Name") == name]
    return found


# --- Lambda ---------------------------------------------------------------------------------------------


def test_every_served_version_is_uploaded_to_its_own_prefix(canary: SynthResult) -> None:
    uploads = canary.of_type("Custom::CDKBucketDeployment").values()
    prefixes = sorted(u["Properties"].get("DestinationBucketKeyPrefix", "") for u in uploads)
    assert prefixes == ["", "models/tiny/3/", "models/tiny/4/", "models/tiny/5/"]  # "": the catalog's list


def test_function_serves_every_version_and_defaults_to_the_rolling_out_canary(
    canary: SynthResult, canary_repo: FakeRepo
) -> None:
    _, function = model_function(canary)
    env = function["Properties"]["Environment"]["Variables"]
    assert env[constants.ENV_MODEL_VERSION] == "5"
    assert env[constants.ENV_MODEL_PREFIX] == "models/tiny/5/"
    served = json.loads(env[constants.ENV_SERVED_VERSIONS])
    assert sorted(served) == ["3", "4", "5"]
    for version, entry in served.items():
        manifest_json = canary_repo.build_dir / "tiny" / version / constants.MANIFEST_JSON
        assert entry["prefix"] == f"models/tiny/{version}/"
        assert entry["manifest_sha256"] == hashlib.sha256(manifest_json.read_bytes()).hexdigest()
    assert env[constants.ENV_MANIFEST_SHA256] == served["5"]["manifest_sha256"]


def test_role_reads_every_served_prefix_and_nothing_else(canary: SynthResult) -> None:
    _, function = model_function(canary)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = (p for p in canary.of_type("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role}])
    statements = {str(s["Action"]): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    objects = [r["Fn::Join"][1][1] for r in statements["s3:GetObject"]["Resource"]]
    assert objects == ["/models/tiny/3/*", "/models/tiny/4/*", "/models/tiny/5/*"]
    listed = statements["s3:ListBucket"]["Condition"]["StringLike"]["s3:prefix"]
    assert listed == ["models/tiny/3/*", "models/tiny/4/*", "models/tiny/5/*"]


def test_live_and_one_alias_per_served_version_all_on_the_one_current_version(canary: SynthResult) -> None:
    (version_id,) = canary.of_type("AWS::Lambda::Version")
    found = aliases(canary)
    assert set(found) == {"live", "v-3", "v-4", "v-5"}
    for alias in found.values():
        assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    # provisioned concurrency stays on the alias that takes the traffic
    assert "ProvisionedConcurrencyConfig" in found["live"]["Properties"]
    assert "ProvisionedConcurrencyConfig" not in found["v-3"]["Properties"]


def test_unversioned_routes_invoke_live_and_pinned_routes_their_own_alias(canary: SynthResult) -> None:
    methods = canary.methods()
    live = logical_id(canary, "AWS::Lambda::Alias", "live")
    assert integration_target(methods[("POST", "/v2/models/tiny/infer")]) == live
    assert integration_target(methods[("POST", "/v1/models/tiny/predict")]) == live
    for version in ("3", "4", "5"):
        pinned = logical_id(canary, "AWS::Lambda::Alias", f"v-{version}")
        assert integration_target(methods[("POST", f"/v2/models/tiny/versions/{version}/infer")]) == pinned
    assert not [path for _, path in methods if "/versions/6/" in path]


def test_each_method_may_invoke_exactly_its_own_alias(canary: SynthResult) -> None:
    permissions = list(canary.of_type("AWS::Lambda::Permission").values())
    pinned = logical_id(canary, "AWS::Lambda::Alias", "v-4")
    mine = [p for p in permissions if p["Properties"]["FunctionName"] == {"Ref": pinned}]
    assert mine
    for permission in mine:
        source = permission["Properties"]["SourceArn"]["Fn::Join"][1][-1]
        assert re.fullmatch(r"/dev/(GET|POST)/v2/models/tiny/versions/4(/.*)?", source), source


def test_canary_rolls_out_through_codedeploy_with_the_manifests_percent_and_bake(canary: SynthResult) -> None:
    (config,) = canary.of_type("AWS::CodeDeploy::DeploymentConfig").values()
    assert config["Properties"]["ComputePlatform"] == "Lambda"
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {"CanaryPercentage": 10, "CanaryInterval": 5},
    }
    (group_id, group) = next(iter(canary.of_type("AWS::CodeDeploy::DeploymentGroup").items()))
    props = group["Properties"]
    assert props["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert set(props["AutoRollbackConfiguration"]["Events"]) == {
        "DEPLOYMENT_FAILURE",
        "DEPLOYMENT_STOP_ON_ALARM",
        "DEPLOYMENT_STOP_ON_REQUEST",
    }
    assert props["AutoRollbackConfiguration"]["Enabled"] is True
    assert props["AlarmConfiguration"]["Enabled"] is True
    canary_alarms = {
        k for k, v in canary.of_type("AWS::CloudWatch::Alarm").items() if "ExecutedVersion" in json.dumps(v)
    }
    assert {a["Name"]["Ref"] for a in props["AlarmConfiguration"]["Alarms"]} == canary_alarms
    assert len(canary_alarms) == 2
    # CloudFormation hands `live`'s version change to that deployment group
    live = aliases(canary)["live"]
    update = live["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
    assert update["DeploymentGroupName"] == {"Ref": group_id}


def test_alarms_watch_the_new_versions_errors_and_p99_on_live_only(canary: SynthResult) -> None:
    (version_id,) = canary.of_type("AWS::Lambda::Version")
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in canary.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/Lambda" and "ExecutedVersion" in json.dumps(a)
    }
    assert set(alarms) == {"Errors", "Duration"}
    assert alarms["Duration"]["ExtendedStatistic"] == "p99"
    assert alarms["Errors"]["Statistic"] == "Sum"
    for alarm in alarms.values():
        dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
        assert dimensions["ExecutedVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
        assert dimensions["Resource"]["Fn::Join"][1][-1] == ":live"
        assert alarm["Period"] == 60


def test_a_zero_percent_canary_is_pinned_only_and_needs_no_deployment(quiet: SynthResult) -> None:
    _, function = model_function(quiet)
    env = function["Properties"]["Environment"]["Variables"]
    assert env[constants.ENV_MODEL_VERSION] == "3"  # unversioned routes keep answering from live
    assert sorted(json.loads(env[constants.ENV_SERVED_VERSIONS])) == ["3", "5"]
    assert set(aliases(quiet)) == {"live", "v-3", "v-5"}
    for cfn_type in ("AWS::CodeDeploy::Application", "AWS::CodeDeploy::DeploymentGroup"):
        assert not quiet.of_type(cfn_type)
    assert "UpdatePolicy" not in aliases(quiet)["live"]


def test_a_single_version_has_live_and_its_pinned_alias_and_no_deployment(cpu_only: SynthResult) -> None:
    assert set(aliases(cpu_only)) == {"live", "v-3"}
    assert not cpu_only.of_type("AWS::CodeDeploy::DeploymentGroup")


def release_output(result: SynthResult, model: str) -> dict[str, Any]:
    """A model's ``Release<Model>`` output, each deploy-time name replaced by ``<LogicalId>``."""
    value = result.templates[f"{result.stack.stack_name}.template.json"]["Outputs"][model]["Value"]
    if isinstance(value, str):
        return dict(json.loads(value))
    text = "".join(p if isinstance(p, str) else f"<{p['Fn::GetAtt'][1]}>" for p in value["Fn::Join"][1])
    return dict(json.loads(text))


def test_release_output_names_versions_and_the_deployment_group(canary: SynthResult) -> None:
    release = release_output(canary, "ReleaseTiny")
    assert {k: release[k] for k in ("model", "target", "served", "live", "canary", "default_version", "weights")} == {
        "model": "tiny",
        "target": "cpu",
        "served": ["3", "4", "5"],
        "live": "4",
        "canary": {"version": "5", "percent": 10, "bake_minutes": 5},
        "default_version": "5",
        "weights": {"3": 0, "4": 90, "5": 10},
    }
    assert release["live_alias"] == "live"
    assert release["pinned_aliases"] == {"3": "v-3", "4": "v-4", "5": "v-5"}
    for key in ("function", "codedeploy_application", "deployment_group"):
        assert release[key].startswith("<Outputs."), key  # the nested stack's resource, named at deploy time


def test_release_output_without_a_canary_says_so(cpu_only: SynthResult, gpu: SynthResult) -> None:
    release = release_output(cpu_only, "ReleaseTiny")
    assert release["canary"] is None
    assert release["codedeploy_application"] is None
    assert release["deployment_group"] is None
    endpoint = release_output(gpu, "ReleaseTinyGpu")
    (resource,) = gpu.of_type("AWS::SageMaker::Endpoint").values()
    assert endpoint["endpoint"] == resource["Properties"]["EndpointName"]
    assert endpoint["variants"] == {"1": "v-1", "2": "v-2"}
    assert endpoint["weights"] == {"1": 75, "2": 25}


# --- SageMaker ------------------------------------------------------------------------------------------


def test_a_model_and_variant_per_served_version_weighted_by_the_canary(gpu: SynthResult) -> None:
    models = gpu.of_type("AWS::SageMaker::Model").values()
    versions = {m["Properties"]["PrimaryContainer"]["Environment"][constants.ENV_MODEL_VERSION]: m for m in models}
    assert set(versions) == {"1", "2"}
    for version, model in versions.items():
        uri = model["Properties"]["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"]
        assert uri["Fn::Join"][1][-1] == f"/models/tiny-gpu/{version}/"
    (config,) = gpu.of_type("AWS::SageMaker::EndpointConfig").values()
    weights = {v["VariantName"]: v["InitialVariantWeight"] for v in config["Properties"]["ProductionVariants"]}
    assert weights == {"v-1": 75, "v-2": 25}


def test_endpoint_updates_blue_green_keep_instances_take_weights_and_roll_back_on_alarms(gpu: SynthResult) -> None:
    (endpoint,) = gpu.of_type("AWS::SageMaker::Endpoint").values()
    props = endpoint["Properties"]
    assert props["RetainAllVariantProperties"] is True
    assert props["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DesiredWeight"}]
    policy = props["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 30 * 60}
    # Ref of an alarm is its name; the alarms name the endpoint by its literal name, so they exist before it.
    refs = [a["AlarmName"]["Ref"] for a in props["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]]
    alarms = gpu.of_type("AWS::CloudWatch::Alarm")
    assert len(refs) == 2
    for ref in refs:  # each watches every variant of this endpoint
        watched = json.dumps(alarms[ref]["Properties"]["Metrics"])
        assert props["EndpointName"] in watched
        assert '"v-1"' in watched
        assert '"v-2"' in watched


def test_pinned_routes_target_their_variant_and_unversioned_routes_none(gpu: SynthResult) -> None:
    header = "integration.request.header.X-Amzn-SageMaker-Target-Variant"
    methods = gpu.methods()
    assert header not in methods[("POST", "/v2/models/tiny-gpu/infer")]["Integration"]["RequestParameters"]
    for version in ("1", "2"):
        parameters = methods[("POST", f"/v2/models/tiny-gpu/versions/{version}/infer")]["Integration"][
            "RequestParameters"
        ]
        assert parameters[header] == f"'v-{version}'"


def test_every_gpu_answer_names_the_version_the_container_reports(gpu: SynthResult) -> None:
    # The container puts the bare version in its response custom attributes; the 200 answer maps it to the header
    # every Lambda answer carries too, on pinned and unversioned routes alike.
    version_header = "method.response.header.X-Modelrail-Model-Version"
    for path in ("/v2/models/tiny-gpu/infer", "/v2/models/tiny-gpu/versions/2/infer", "/v1/models/tiny-gpu/predict"):
        method = gpu.methods()[("POST", path)]
        ok = next(r for r in method["Integration"]["IntegrationResponses"] if r["StatusCode"] == "200")
        assert ok["ResponseParameters"][version_header] == (
            "integration.response.header.X-Amzn-SageMaker-Custom-Attributes"
        )
        declared = next(r for r in method["MethodResponses"] if r["StatusCode"] == "200")
        assert version_header in declared["ResponseParameters"]


def test_every_variant_scales_on_its_own(gpu: SynthResult) -> None:
    targets = [
        t["Properties"]["ResourceId"] for t in gpu.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values()
    ]
    assert sorted(str(t).rsplit("/", 1)[-1] for t in targets) == ["v-1", "v-2"]


def test_a_new_served_version_is_a_new_endpoint(gpu: SynthResult, tmp_path: Path) -> None:
    single = make_release_repo(tmp_path, {**TINY_GPU, "version": "2"}, {"served": ["2"]}, older=[])
    result = synth(single, models=["tiny-gpu"], context={"gpu_models": "true"})
    (before,) = gpu.of_type("AWS::SageMaker::Endpoint").values()
    (after,) = result.of_type("AWS::SageMaker::Endpoint").values()
    assert before["Properties"]["EndpointName"] != after["Properties"]["EndpointName"]


def test_a_gpu_bake_longer_than_sagemaker_allows_is_refused(tmp_path: Path) -> None:
    releases = {**GPU_CANARY, "canary": {"version": "2", "percent": 10, "bake_minutes": 90}}
    repo = make_release_repo(tmp_path, {**TINY_GPU, "version": "2"}, releases, older=["1"])
    with pytest.raises(ReleaseSettingError, match=r"`deploy\.releases\.canary\.bake_minutes` is 90.*60 or less"):
        synth(repo, models=["tiny-gpu"], context={"gpu_models": "true"})


# --- Names ----------------------------------------------------------------------------------------------


def test_names_are_valid_for_lambda_and_sagemaker() -> None:
    assert pinned_alias("1") == "v-1"
    assert pinned_alias("2024.06.01") == "v-2024_06_01"
    assert variant_name("1.2_rc-") == "v-1-2-rc"


def test_versions_whose_names_would_collide_are_refused(tmp_path: Path) -> None:
    repo = make_release_repo(tmp_path, {**TINY, "version": "1_2"}, {"served": ["1.2", "1_2"]}, older=["1.2"])
    with pytest.raises(ReleaseNameError, match=r"served versions 1\.2 and 1_2 would share the Lambda alias `v-1_2`"):
        synth(repo, models=["tiny"])


# --- Linters --------------------------------------------------------------------------------------------


@pytest.fixture(params=["canary", "gpu"])
def release_stack(request: pytest.FixtureRequest) -> SynthResult:
    result: SynthResult = request.getfixturevalue(request.param)
    return result


def test_release_templates_pass_cfn_lint_and_cdk_nag(release_stack: SynthResult) -> None:
    files = [str(release_stack.outdir / name) for name in release_stack.templates]
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", "--", *files],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    findings = [f for f in json.loads(result.stdout or "[]") if f["Rule"]["Id"] != "W3005"]
    assert findings == [], json.dumps(findings, indent=1)[:3000]
    report = json.loads((release_stack.outdir / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])] == []


def test_more_served_versions_than_the_lambda_environment_holds_are_refused(tmp_path: Path) -> None:
    older = [f"2024.01.{day:02d}" for day in range(1, 30)]
    repo = make_release_repo(
        tmp_path, {**TINY, "version": "2024.02.01"}, {"served": [*older, "2024.02.01"]}, older=older
    )
    with pytest.raises(ReleaseSettingError, match=r"lists 30 versions; .* over Lambda's 4096: serve fewer"):
        synth(repo, models=["tiny"])
