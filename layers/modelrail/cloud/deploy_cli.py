"""``modelrail deploy``: build what is stale, run the pinned cdk CLI's deploy, print the URL, the API key and a curl.

Order matters for a user's time: the project, the cdk CLI and the AWS credentials are checked first (seconds),
then stale models are built (minutes), then ``cdk deploy`` runs with its output streamed as it comes (it may ask
to approve IAM changes, so it keeps the terminal), then the stack's outputs are read back.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess  # nosec B404 # runs the pinned cdk CLI, an argument list without a shell
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrail import constants as c
from modelrail.cloud.outputs import stage_argument
from modelrail.cloud.session import CloudError

if TYPE_CHECKING:
    from modelrail.cloud.outputs import StageOutputs
    from modelrail.manifest import Manifest

EXAMPLE_INSTANCE = {
    "text-embedding": "'hello world'",
    "text-classification": "'hello world'",
    "image-classification": "@image.png",
    "tabular": "'{\"feature\": 1.0}'",
    "tensor": "'{\"input\": [0.0]}'",
}


def register(subparsers: Any) -> None:
    """Add ``modelrail deploy``."""
    parser = subparsers.add_parser(
        "deploy",
        help="build stale models, cdk deploy a stage, print its URL and API key",
        description=(
            "Check AWS credentials, build every selected model whose artifact is missing or stale, run the "
            "pinned aws-cdk CLI (node_modules/.bin/cdk) as `cdk deploy modelrail-STAGE` with the stage's context, "
            "then print the API URL, the API key's value and a ready-to-run curl line. Arguments after `--` go "
            "to cdk deploy unchanged (e.g. -- --require-approval never). Run it from the repository root."
        ),
    )
    parser.add_argument(
        "--stage", type=stage_argument, help="the stage (stack modelrail-STAGE); default: cdk.json's, else dev"
    )
    parser.add_argument(
        "--models",
        help="comma-separated model names to deploy (context `models`); default: cdk.json's, else all",
    )
    parser.add_argument(
        "--gpu-models",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="deploy target: gpu models too (SageMaker endpoints, billed per instance-hour); default: cdk.json's",
    )
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--profile", help="AWS profile (default: your AWS configuration's)")
    parser.add_argument("cdk_args", nargs="*", metavar="-- CDK_ARG", help="passed to cdk deploy after `--`")
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class Selection:
    """The models a deploy covers and which of them need a build first."""

    manifests: list[Manifest]
    stale: list[str]
    skipped_gpu: list[str]


def select_models(models_dir: Path, build_dir: Path, *, names: list[str] | None, gpu_models: bool) -> Selection:
    """The models the stack will deploy (GPU ones only when opted in, as synth decides) and the stale ones.

    Stale is what ``modelrail.store.current.current_artifact`` says, the check synth makes: missing, built from an
    older ``model.yaml``, or damaged.
    """
    from modelrail.manifest import Target, discover_manifests, load_manifest
    from modelrail.store.current import ArtifactNotCurrentError, current_artifact

    found = discover_manifests(models_dir)
    wanted = names or list(found)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        raise CloudError(f"no model {', '.join(unknown)} in {models_dir}; known: {', '.join(found) or 'none'}")
    manifests = [load_manifest(found[name]) for name in wanted]
    gpu = [m.name for m in manifests if m.deploy.target is Target.GPU]
    if gpu and not gpu_models and names:
        raise CloudError(f"GPU model(s) {', '.join(gpu)} selected: add --gpu-models (each is a SageMaker endpoint)")
    deployed = [m for m in manifests if gpu_models or m.deploy.target is not Target.GPU]
    stale = []
    for manifest in deployed:
        try:
            current_artifact(manifest, build_dir)
        except ArtifactNotCurrentError:
            stale.append(manifest.name)
    return Selection(manifests=deployed, stale=stale, skipped_gpu=[] if gpu_models else gpu)


def _build(names: list[str], models_dir: Path, build_dir: Path) -> bool:
    from modelrail.builder.pipeline import build_models

    results = build_models(names, models_dir=models_dir, build_dir=build_dir, raise_on_failure=False)
    for result in results:
        print(f"modelrail deploy: {result.name}: {result.status} ({result.seconds:.1f} s)", file=sys.stderr)
        if result.error:
            print("\n".join(f"    {line}" for line in result.error.splitlines()), file=sys.stderr)
    return all(result.ok for result in results)


def _check_served(manifests: list[Manifest], build_dir: Path) -> None:
    """Older versions a manifest still serves cannot be rebuilt from today's model.yaml: check they are there."""
    from modelrail.store.current import ArtifactNotCurrentError, served_artifacts

    for manifest in manifests:
        try:
            served_artifacts(manifest, build_dir)
        except ArtifactNotCurrentError as exc:
            raise CloudError(str(exc)) from None


def summary(outputs: StageOutputs, *, api_key: str | None, example: Manifest | None) -> list[str]:
    """What deploy prints at the end: URL, key, and commands that work as printed."""
    url = outputs.api_url
    lines = [f"stage {outputs.stage}: stack {outputs.stack} is {outputs.status}", f"API URL: {url}"]
    if api_key is None:
        lines += ["auth: IAM: sign each request with SigV4 for service execute-api (modelrail predict signs its own)"]
    else:
        lines += [f"API key: {api_key}"]
    lines.append("Try it:")
    if api_key is not None:
        lines.append(f"  curl -H {shlex.quote(f'{c.API_KEY_HEADER}: {api_key}')} {shlex.quote(url + 'v1/models')}")
    if example is not None:
        instance = EXAMPLE_INSTANCE.get(example.task.value, "INSTANCE")
        lines.append(f"  modelrail predict {example.name} {instance} --stage {outputs.stage}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Deploy; exit 0 once the stack is deployed and its outputs printed."""
    from modelrail.cloud import cdk
    from modelrail.cloud.outputs import api_key_value, read_outputs
    from modelrail.cloud.session import aws_session, caller_identity
    from modelrail.manifest import ManifestError

    def say(line: str) -> None:
        print(f"modelrail deploy: {line}", file=sys.stderr, flush=True)

    try:
        root = cdk.project_root(Path.cwd())
        extra = list(args.cdk_args)
        cdk.check_extra_args(extra)
        executable = cdk.find_cdk(root)
        stage = args.stage or cdk.default_stage(root)
        names = (
            [name.strip() for name in args.models.split(",") if name.strip()]
            if args.models
            else cdk.default_models(root)
        )
        gpu_models = cdk.default_gpu_models(root) if args.gpu_models is None else bool(args.gpu_models)
        session = aws_session(region=args.region, profile=args.profile)
        identity = caller_identity(session)
        say(f"stage {stage} to account {identity.account} in {identity.region}, as {identity.arn}")
        # The folders the CDK app reads (cdk.json's `models_dir` / `build_dir`, as infra/app.py resolves them).
        models_dir, build_dir = cdk.project_dirs(root)
        selection = select_models(models_dir, build_dir, names=names, gpu_models=gpu_models)
        if selection.skipped_gpu:
            say(f"not deploying GPU model(s) {', '.join(selection.skipped_gpu)} (opt in with --gpu-models)")
        if selection.stale:
            say(f"building {', '.join(selection.stale)} (missing or stale)")
            if not _build(selection.stale, models_dir, build_dir):
                say("a build failed (above); nothing was deployed")
                return 1
        _check_served(selection.manifests, build_dir)
        command = cdk.deploy_command(executable, stage=stage, models=names, gpu_models=gpu_models, extra=extra)
        say("running " + shlex.join(command))
        env = {**os.environ, "AWS_REGION": identity.region, "AWS_DEFAULT_REGION": identity.region}
        if args.profile:
            env["AWS_PROFILE"] = args.profile
        # The child keeps this terminal: its progress streams as it comes, and it can ask to approve IAM changes.
        status = subprocess.run(command, cwd=root, env=env, check=False).returncode  # noqa: S603  # nosec B603
        if status != 0:
            say(f"cdk deploy failed with exit status {status} (its output is above)")
            return status
        outputs = read_outputs(session, stage)
        key_id = outputs.api_key_id
        key = api_key_value(session, key_id) if key_id else None
    except (CloudError, ManifestError) as exc:
        say(str(exc))
        return 1
    example = selection.manifests[0] if selection.manifests else None
    print("\n".join(summary(outputs, api_key=key, example=example)))
    return 0
