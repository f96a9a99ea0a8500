"""`packaging: zip` functions: the managed Python 3.12 runtime, SnapStart on published versions, what SnapStart
cannot have refused at synth, and SAM's name for every model function in both packagings.

The fake repository's requirements file pins nothing, so these synths build a real (tiny) package without pip
downloads; ``test_zip_package_runs.py`` builds and runs the real one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from fake_repo import (
    TINY_B,
    FakeRepo,
    SynthResult,
    app_context,
    is_job_worker,
    make_fake_repo,
    synth,
    write_artifact,
    write_model,
)

from infra.app import build_app
from infra.constructs.onnx_function import SNAPSTART_MAX_EPHEMERAL_MIB, PackagingError, check_snapstart
from infra.deployed_models import load_deployed_model
from modelrail import constants
from modelrail.lambda_zip.limits import MiB
from modelrail.manifest import parse_manifest

TINY_IMAGE = {**TINY_B, "name": "tiny-image", "deploy": {"packaging": "image"}}
"""Asks for the container image itself, so a stage default of `zip` does not apply to it."""


@pytest.fixture(scope="module")
def zip_repo(tmp_path_factory: pytest.TempPathFactory) -> FakeRepo:
    repo = make_fake_repo(tmp_path_factory.mktemp("zip-repo"))
    function_dir = repo.root / "functions" / "lambda_inference"
    function_dir.mkdir(parents=True, exist_ok=True)
    (function_dir / "requirements.txt").write_text("# nothing to pin in the fake repository\n", encoding="utf-8")
    (function_dir / "handler.py").write_text("def handler(event, context):\n    return {}\n", encoding="utf-8")
    write_model(repo.models_dir, TINY_IMAGE)
    write_artifact(repo.build_dir, TINY_IMAGE)
    return repo


@pytest.fixture(scope="module")
def zip_default(zip_repo: FakeRepo) -> SynthResult:
    """Stage default `packaging=zip`: tiny-b (no `deploy:`) is a zip function, tiny-image stays an image."""
    return synth(zip_repo, models=["tiny-b", "tiny-image"], context={"packaging": "zip"})


def functions_by_sam_id(result: SynthResult) -> dict[str, dict[str, Any]]:
    return {
        f["Metadata"][SAM_ID]: f
        for f in result.of_type("AWS::Lambda::Function").values()
        if SAM_ID in f.get("Metadata", {})
    }


SAM_ID = "SamResourceId"


def test_unset_packaging_takes_the_stage_default_and_runs_on_python_312_with_snapstart(
    zip_default: SynthResult,
) -> None:
    props = functions_by_sam_id(zip_default)["tiny-b"]["Properties"]
    assert (props["Runtime"], props["Handler"]) == ("python3.12", "handler.handler")
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert props["EphemeralStorage"] == {"Size": 512}
    assert "S3Key" in props["Code"]
    assert "PackageType" not in props
    assert props["Environment"]["Variables"][constants.ENV_MODEL_NAME] == "tiny-b"


def test_the_live_alias_points_at_a_published_version_where_snapstart_applies(zip_default: SynthResult) -> None:
    function_id = next(
        key for key, f in zip_default.of_type("AWS::Lambda::Function").items() if f["Metadata"].get(SAM_ID) == "tiny-b"
    )
    versions = {
        key
        for key, v in zip_default.of_type("AWS::Lambda::Version").items()
        if v["Properties"]["FunctionName"] == {"Ref": function_id}
    }
    aliases = [
        a["Properties"]
        for a in zip_default.of_type("AWS::Lambda::Alias").values()
        if a["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert aliases
    assert all(a["FunctionVersion"]["Fn::GetAtt"][0] in versions for a in aliases)


def test_a_manifests_own_packaging_beats_the_stage_default(zip_default: SynthResult) -> None:
    props = functions_by_sam_id(zip_default)["tiny-image"]["Properties"]
    assert props["PackageType"] == "Image"
    assert "SnapStart" not in props


def test_an_all_zip_stage_has_no_container_image_to_build(zip_repo: FakeRepo) -> None:
    result = synth(zip_repo, models=["tiny-b"], context={"packaging": "zip"})
    manifests = [json.loads(p.read_text()) for p in Path(result.outdir).glob("*.assets.json")]
    assert manifests
    assert not any(m.get("dockerImages") for m in manifests)
    assert any(m.get("files") for m in manifests)


def test_every_model_function_is_named_for_sam_by_its_model(with_gpu: SynthResult, zip_default: SynthResult) -> None:
    for result, expected in ((with_gpu, {"tiny", "tiny-b"}), (zip_default, {"tiny-b", "tiny-image"})):
        model_functions = [
            f
            for f in result.of_type("AWS::Lambda::Function").values()
            if constants.ENV_MODEL_NAME in f["Properties"].get("Environment", {}).get("Variables", {})
            and not is_job_worker(f)  # workers are named `<model>-jobs` (test_construct_jobs.py)
        ]
        names = [f["Metadata"][SAM_ID] for f in model_functions]
        assert sorted(names) == sorted(expected)  # one each, unique: `sam local invoke tiny-b` finds one function


def test_a_stage_default_of_zip_refuses_provisioned_concurrency(zip_repo: FakeRepo, tmp_path: Path) -> None:
    context = app_context(zip_repo, ["tiny"], {"packaging": "zip"})  # tiny has provisioned_concurrency: 1
    with pytest.raises(PackagingError, match=r"model tiny: .*provisioned_concurrency.*SnapStart does not support"):
        build_app(cdk.App(context=context, outdir=str(tmp_path / "out")), source_root=zip_repo.root)


def test_an_artifact_too_big_for_snapstarts_tmp_is_refused_with_the_fix(zip_repo: FakeRepo) -> None:
    model = load_deployed_model(parse_manifest(TINY_B), build_dir=zip_repo.build_dir)
    check_snapstart(model, SNAPSTART_MAX_EPHEMERAL_MIB)  # fits
    own = dataclasses.replace(model.own, size_bytes=300 * MiB)
    big = dataclasses.replace(model, served={model.version: own})
    with pytest.raises(PackagingError, match=r"need \d+ MiB of /tmp.*at most 512 MB.*`deploy.packaging: image`"):
        check_snapstart(big, 856)


def test_an_unknown_stage_packaging_names_the_choices(zip_repo: FakeRepo) -> None:
    from infra.app import ContextError

    context = app_context(zip_repo, ["tiny-b"], {"packaging": "layer"})
    with pytest.raises(ContextError, match=r"`packaging=layer` is not one of image, zip"):
        build_app(cdk.App(context=context), source_root=zip_repo.root)


def test_zip_functions_can_run_on_arm64(zip_repo: FakeRepo) -> None:
    result = synth(zip_repo, models=["tiny-b", "tiny-image"], context={"packaging": "zip", "zip_architecture": "arm64"})
    functions = functions_by_sam_id(result)
    assert functions["tiny-b"]["Properties"]["Architectures"] == ["arm64"]
    assert functions["tiny-image"]["Properties"]["Architectures"] == ["x86_64"]  # the image is built for amd64
    assert any((zip_repo.root / "build" / "lambda-zip").glob("arm64-*"))
