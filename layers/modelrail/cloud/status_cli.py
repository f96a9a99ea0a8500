"""``modelrail status``: per model of a deployed stage, the live and canary versions, their weights and the rollout."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrail.cloud.outputs import stage_argument

if TYPE_CHECKING:
    from modelrail.cloud.outputs import StageOutputs
    from modelrail.cloud.releases import ModelStatus, Share

COLUMNS = ("MODEL", "TARGET", "LIVE", "CANARY", "SERVED", "ROLLOUT")


def register(subparsers: Any) -> None:
    """Add ``modelrail status``."""
    parser = subparsers.add_parser(
        "status",
        help="live and canary versions, weights and rollouts of a deployed stage",
        description=(
            "Read stack modelrail-STAGE (CloudFormation DescribeStacks, ListStackResources), then per model the "
            "Lambda `live` alias and its versions' configuration, the CodeDeploy deployment group's latest "
            "deployment, or the SageMaker endpoint's variants and weights. Read-only."
        ),
    )
    parser.add_argument(
        "--stage", type=stage_argument, help="the stage (stack modelrail-STAGE); default: ./cdk.json's, else dev"
    )
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--profile", help="AWS profile (default: your AWS configuration's)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.set_defaults(run=run)


def _share(share: Share | None) -> str:
    return "-" if share is None else f"{share.version} ({share.percent:g}%)"


def rows(models: list[ModelStatus]) -> list[tuple[str, ...]]:
    """One table row per model."""
    table: list[tuple[str, ...]] = []
    for model in models:
        canaries = ", ".join(_share(share) for share in model.canaries) or "-"
        rollout = model.rollouts[0] if model.rollouts else None
        rollout_text = "-"
        if rollout is not None:
            parts = [
                rollout.status,
                rollout.id,
                rollout.config or "",
                f"at {rollout.created}" if rollout.created else "",
            ]
            rollout_text = " ".join(part for part in parts if part)
            if rollout.message:
                rollout_text += f": {rollout.message}"
        table.append((model.name, model.target, _share(model.live), canaries, ", ".join(model.served), rollout_text))
    return table


def render(outputs: StageOutputs, region: str, models: list[ModelStatus]) -> str:
    """The table, under a line naming the stack."""
    lines = [f"stage {outputs.stage}: stack {outputs.stack} is {outputs.status} in {region}"]
    url = outputs.values.get("ApiUrl")
    if url:
        lines.append(f"API URL: {url}")
    if not models:
        return "\n".join([*lines, "no models found in the stack"])
    table = [COLUMNS, *rows(models)]
    widths = [max(len(row[index]) for row in table) for index in range(len(COLUMNS) - 1)]
    for row in table:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the stage's releases; exit 1 with the reason when AWS cannot be read."""
    from modelrail.cloud.cdk import CDK_JSON, default_stage
    from modelrail.cloud.outputs import read_outputs
    from modelrail.cloud.releases import read_status
    from modelrail.cloud.session import CloudError, aws_session
    from modelrail.contract.stack import DEFAULT_STAGE

    stage = args.stage or (default_stage(Path.cwd()) if (Path.cwd() / CDK_JSON).is_file() else DEFAULT_STAGE)
    try:
        session = aws_session(region=args.region, profile=args.profile)
        outputs = read_outputs(session, stage)
        models = read_status(session, outputs)
    except CloudError as exc:
        print(f"modelrail status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        document = {
            "stage": stage,
            "stack": outputs.stack,
            "stack_status": outputs.status,
            "region": session.region_name,
            "api_url": outputs.values.get("ApiUrl"),
            "models": [dataclasses.asdict(model) for model in models],
        }
        print(json.dumps(document, indent=2))
        return 0
    print(render(outputs, str(session.region_name), models))
    return 0
