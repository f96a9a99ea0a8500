"""``modelrail init NAME --onnx PATH``: the command-line face of ``modelrail.init.init_model``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from modelrail.constants import MODELS_DIR


def register(commands: Any) -> None:
    """Add the ``init`` sub-command to the top-level parser's sub-parsers."""
    parser = commands.add_parser(
        "init",
        help="make a model folder from an ONNX file, with a manifest that builds as is",
        description=(
            "Check an ONNX file (it must load in ONNX Runtime's CPU provider), copy it to models/NAME/model.onnx "
            "and write the shortest model.yaml that builds (served unchanged: no dataset needed). Prints the "
            "commands to build, serve and call it with inputs that match the graph."
        ),
    )
    parser.add_argument("name", metavar="NAME", help="dns-safe model name (lower-case letters, digits, hyphens)")
    parser.add_argument("--onnx", type=Path, required=True, metavar="PATH", help="the fp32 ONNX file")
    parser.add_argument(
        "--task", default="tensor", choices=["tensor", "tabular", "image-classification"], help="default: tensor"
    )
    parser.add_argument(
        "--target", default="cpu", choices=["cpu", "gpu"], help="cpu -> Lambda (default), gpu -> SageMaker"
    )
    parser.add_argument("--link", action="store_true", help="symlink the file instead of copying it")
    parser.add_argument("--models-dir", type=Path, default=Path(MODELS_DIR), help="folder of model folders")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """0 with the manifest and next steps printed; 1 with the reason when the file or name is refused."""
    from modelrail.init import InitError, init_model
    from modelrail.manifest import Target, Task

    try:
        result = init_model(
            args.name,
            args.onnx,
            models_dir=args.models_dir,
            task=Task(args.task),
            target=Target(args.target),
            link=args.link,
        )
    except InitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    how = "linked" if args.link else "copied"
    print(f"{how} {args.onnx} -> {result.model_dir / 'model.onnx'}")
    signature = ", ".join(f"{spec.name} {spec.datatype} {spec.shape}" for spec in result.inputs)
    print(f"inputs (one instance): {signature}")
    print(f"outputs: {', '.join(result.outputs)}")
    print(f"wrote {result.manifest_path}:\n")
    print("\n".join(f"  {line}" for line in result.manifest_text.splitlines()))
    print()
    print(result.next_steps)
    return 0
