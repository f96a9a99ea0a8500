"""A throwaway repository for CDK tests: placeholder images and handler, tiny built artifacts, and a synth helper.

CDK assertions never serve a model, so an artifact here is a few bytes plus a real ``manifest.json`` that
records their sha256, which is all synth verifies.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import yaml
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.constructs.job_worker import image_cmd
from infra.stacks.modelrail_stack import GPU_DOCKERFILE, LAMBDA_DOCKERFILE, ModelrailStack
from modelrail.constants import MANIFEST_JSON, MANIFEST_YAML, MODEL_FILE
from modelrail.contract.jobs import JOB_API_HANDLER, JOB_WORKER_HANDLER
from modelrail.manifest import BuiltManifest, parse_manifest

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]

TINY = {
    "name": "tiny",
    "version": "3",
    "task": "tensor",
    "source": {"path": "model.onnx"},
    "quantization": {"mode": "none"},
    "deploy": {
        "target": "cpu",
        "memory_mb": 1536,
        "timeout_s": 12,
        "reserved_concurrency": 4,
        "provisioned_concurrency": 1,
    },
}
TINY_B = {
    "name": "tiny-b",
    "version": "1",
    "task": "tensor",
    "source": "model.onnx",
    "quantization": "none",
}
"""No `deploy:` block: a CPU function with the schema's defaults."""
TINY_GPU = {
    "name": "tiny-gpu",
    "version": "1",
    "task": "tensor",
    "source": {"path": "model.onnx"},
    "quantization": {"mode": "none"},
    "deploy": {
        "target": "gpu",
        "instance_type": "ml.g5.xlarge",
        "autoscaling": {"min_instances": 1, "max_instances": 3, "target_invocations_per_instance": 50},
    },
}


@dataclass(frozen=True)
class FakeRepo:
    """Where the fake repository's parts are."""

    root: Path
    models_dir: Path
    build_dir: Path


@dataclass(frozen=True)
class SynthResult:
    """One synthesized stage: its stack and every nested stack, seen as one template.

    Each model is a nested stack (``infra/stacks/model_stack.py``) whose template is a file of its own;
    ``template`` and ``resources`` merge them into the stage's stack, with each parameter a nested template
    ``Ref``s replaced by the value the stage's stack passes in, so assertions see the whole deployment.
    ``templates`` holds each file as synthesized (the stage's first), for per-stack limits and linting.
    """

    stack: ModelrailStack
    template: Template
    resources: dict[str, Any]
    outdir: Path
    templates: dict[str, dict[str, Any]]

    def of_type(self, cfn_type: str) -> dict[str, Any]:
        """Resources of one CloudFormation type, by logical id."""
        return {key: value for key, value in self.resources.items() if value["Type"] == cfn_type}

    def methods(self) -> dict[tuple[str, str], dict[str, Any]]:
        """API methods by (HTTP method, path), paths rebuilt from the resource tree."""
        paths: dict[str, str] = {}

        def path_of(logical_id: str) -> str:
            if logical_id not in paths:
                props = self.resources[logical_id]["Properties"]
                parent = props["ParentId"]
                prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
                paths[logical_id] = f"{prefix}/{props['PathPart']}"
            return paths[logical_id]

        found = {}
        for method in self.of_type("AWS::ApiGateway::Method").values():
            props = method["Properties"]
            resource = props["ResourceId"]
            path = path_of(resource["Ref"]) if "Ref" in resource else "/"
            found[(props["HttpMethod"], path)] = props
        return found


def is_job_worker(function: dict[str, Any]) -> bool:
    """Whether a synthesized ``AWS::Lambda::Function`` is a model's job worker: the image with the worker's CMD, or
    the zip package with the worker's handler."""
    props = function["Properties"]
    worker = image_cmd(JOB_WORKER_HANDLER)
    return bool(props.get("ImageConfig", {}).get("Command") == worker or props.get("Handler") == worker[0])


def write_model(models_dir: Path, fields: dict[str, Any]) -> Path:
    """Write ``models/<name>/model.yaml``."""
    folder = models_dir / fields["name"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST_YAML
    path.write_text(yaml.safe_dump(fields), encoding="utf-8")
    return path


def write_artifact(build_dir: Path, fields: dict[str, Any], model_bytes: bytes = b"tiny onnx stand-in") -> Path:
    """Write a complete artifact for the manifest ``fields``: the model file and its ``manifest.json``."""
    manifest = parse_manifest(fields)
    artifact = build_dir / manifest.name / manifest.version
    artifact.mkdir(parents=True, exist_ok=True)
    (artifact / MODEL_FILE).write_bytes(model_bytes)
    built = BuiltManifest(
        name=manifest.name,
        version=manifest.version,
        task=manifest.task,
        target=manifest.deploy.target,
        precision="fp32",
        model_file=MODEL_FILE,
        inputs=[{"name": "x", "datatype": "FP32", "shape": [-1, 4]}],  # type: ignore[list-item]
        outputs=[{"name": "y", "datatype": "FP32", "shape": [-1, 2]}],  # type: ignore[list-item]
        files={MODEL_FILE: {"sha256": hashlib.sha256(model_bytes).hexdigest(), "size": len(model_bytes)}},  # type: ignore[dict-item]
        serving={"max_batch_size": 8},  # type: ignore[arg-type]
        model=manifest.model,
        input_hash="test",
        built_at="2025-01-01T00:00:00Z",
    )
    (artifact / MANIFEST_JSON).write_text(built.model_dump_json(indent=2), encoding="utf-8")
    return artifact


def make_fake_repo(root: Path) -> FakeRepo:
    """Placeholder Dockerfiles, catalog and jobs handlers and runtime package, and three built models."""
    for dockerfile in (LAMBDA_DOCKERFILE, GPU_DOCKERFILE):
        path = root / dockerfile
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("FROM public.ecr.aws/lambda/python:3.12\n", encoding="utf-8")
    for placeholder in ("functions/catalog/handler.py", JOB_API_HANDLER.partition(":")[0]):
        handler = root / placeholder
        handler.parent.mkdir(parents=True, exist_ok=True)
        handler.write_text(
            "def handler(event, context):\n    return {'statusCode': 200, 'body': '[]'}\n", encoding="utf-8"
        )
    package = root / "layers/modelrail"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text('"""placeholder runtime package"""\n', encoding="utf-8")
    repo = FakeRepo(root=root, models_dir=root / "models", build_dir=root / "build/models")
    for fields in (TINY, TINY_B, TINY_GPU):
        write_model(repo.models_dir, fields)
        write_artifact(repo.build_dir, fields)
    return repo


def make_release_repo(root: Path, fields: dict[str, Any], releases: dict[str, Any], *, older: list[str]) -> FakeRepo:
    """The fake repository with ``fields``' model built at each ``older`` version (different bytes each, as
    builds of different weights) and then at the manifest's own version, whose ``deploy.releases`` is ``releases``."""
    repo = make_fake_repo(root)
    for version in older:
        write_artifact(repo.build_dir, {**fields, "version": version}, model_bytes=f"weights {version}".encode())
    write_model(repo.models_dir, fields | {"deploy": {**fields.get("deploy", {}), "releases": releases}})
    write_artifact(repo.build_dir, fields, model_bytes=f"weights {fields['version']}".encode())
    return repo


def app_context(repo: FakeRepo, models: list[str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``cdk.json``'s context, as the CLI passes it, pointed at the fake repository."""
    return {
        **CDK_CONTEXT,
        "aws:cdk:enable-asset-metadata": True,  # the CLI sets this; SAM needs what it adds
        "models": ",".join(models),
        "models_dir": str(repo.models_dir),
        "build_dir": str(repo.build_dir),
        **(extra or {}),
    }


def synth(repo: FakeRepo, *, models: list[str], context: dict[str, Any] | None = None) -> SynthResult:
    """Build the app as ``infra/app.py`` does and synthesize it (cdk-nag runs and must pass)."""
    # outside the repository: it is the Docker build context, and an outdir inside it would copy itself
    outdir = Path(tempfile.mkdtemp(prefix="cdk-out-", dir=repo.root.parent))
    app = cdk.App(outdir=str(outdir), context=app_context(repo, models, context))
    stack = build_app(app, source_root=repo.root)
    app.synth()
    templates = stage_templates(outdir, stack.stack_name)
    merged = merge_nested(templates, stack.stack_name)
    return SynthResult(
        stack=stack,
        template=Template.from_json(merged),
        resources=merged["Resources"],
        outdir=outdir,
        templates=templates,
    )


NESTED_STACK = "AWS::CloudFormation::Stack"


def stage_templates(outdir: Path, stack_name: str) -> dict[str, dict[str, Any]]:
    """The stage's template and, by file name, every nested template it deploys (recursively)."""
    found: dict[str, dict[str, Any]] = {}
    pending = [f"{stack_name}.template.json"]
    while pending:
        name = pending.pop(0)
        found[name] = template = json.loads((outdir / name).read_text())
        for resource in template["Resources"].values():
            if resource["Type"] == NESTED_STACK:
                pending.append(resource["Metadata"]["aws:asset:path"])
    return found


def _substitute(value: Any, parameters: dict[str, Any], outputs: dict[tuple[str, str], Any] | None = None) -> Any:
    """``value`` with each ``Ref`` of a parameter replaced by its value, and each ``GetAtt`` of a nested stack's
    output by that output's value."""
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"] in parameters:
            return parameters[value["Ref"]]
        if set(value) == {"Fn::GetAtt"} and outputs and tuple(value["Fn::GetAtt"]) in outputs:
            return outputs[tuple(value["Fn::GetAtt"])]
        return {key: _substitute(item, parameters, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, parameters, outputs) for item in value]
    return value


def merge_nested(templates: dict[str, dict[str, Any]], stack_name: str) -> dict[str, Any]:
    """The stage's template with every nested stack's resources added (logical ids are unique across them)."""
    parent = templates[f"{stack_name}.template.json"]
    merged = {**parent, "Resources": dict(parent["Resources"])}
    outputs: dict[tuple[str, str], Any] = {}
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = [(parent, {})]
    while pending:
        template, outer = pending.pop(0)
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != NESTED_STACK:
                continue
            nested = templates[resource["Metadata"]["aws:asset:path"]]
            parameters = _substitute(resource["Properties"].get("Parameters", {}), outer)
            resources = _substitute(nested["Resources"], parameters)
            clash = set(resources) & set(merged["Resources"])
            assert not clash, clash
            merged["Resources"].update(resources)
            for name, output in nested.get("Outputs", {}).items():
                outputs[(logical_id, f"Outputs.{name}")] = _substitute(output["Value"], parameters)
            pending.append((nested, parameters))
    merged["Resources"] = _substitute(merged["Resources"], {}, outputs)
    return merged
