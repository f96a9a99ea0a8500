"""``modelrail build [name...] [--check] [--force]``: the command-line face of ``build_models``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from modelrail.constants import BUILD_DIR, MODELS_DIR

SCHEMA_FILE = "model.schema.json"


def register(commands: Any) -> None:
    """Add the ``build`` sub-command to the top-level parser's sub-parsers."""
    parser = commands.add_parser(
        "build",
        help="export, quantize, accuracy-gate and package models",
        description=(
            "Build models/<name>/ into build/models/<name>/<version>/. A model whose quantized form fails its "
            "accuracy gate is not produced; the command exits non-zero and prints the numbers."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to build (default: all)")
    parser.add_argument("--check", action="store_true", help="only validate the manifests")
    parser.add_argument("--force", action="store_true", help="rebuild even when inputs are unchanged")
    parser.add_argument("--models-dir", type=Path, default=Path(MODELS_DIR), help="folder of model folders")
    parser.add_argument("--build-dir", type=Path, default=Path(BUILD_DIR), help="where artifacts are written")
    parser.add_argument(
        "--write-schema",
        action="store_true",
        help=f"write the manifest's JSON schema to <models-dir>/{SCHEMA_FILE} (for editors) and exit",
    )
    parser.set_defaults(run=run)


def write_schema(models_dir: Path) -> Path:
    """Write the manifest JSON schema where every model.yaml's ``$schema`` comment points."""
    from modelrail.manifest import manifest_json_schema

    path = models_dir / SCHEMA_FILE
    path.write_text(json.dumps(manifest_json_schema(), indent=2) + "\n", encoding="utf-8")
    return path


def run(args: argparse.Namespace) -> int:
    """Run the command; 0 when every model is valid (``--check``) or built/up to date, 1 otherwise."""
    from modelrail.builder.pipeline import build_models, check_manifests
    from modelrail.manifest import ManifestError

    if args.write_schema:
        print(f"wrote {write_schema(args.models_dir)}")
        return 0
    try:
        if args.check:
            manifests = check_manifests(args.names or None, models_dir=args.models_dir)
            for name in manifests:
                print(f"ok: {args.models_dir / name / 'model.yaml'}")
            return 0
        results = build_models(
            args.names or None,
            models_dir=args.models_dir,
            build_dir=args.build_dir,
            force=args.force,
            raise_on_failure=False,
        )
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for result in results:
        where = f" -> {result.artifact_dir}" if result.artifact_dir else ""
        print(f"{result.status:>10}  {result.name}{where} ({result.seconds:.1f} s)")
        if result.error:
            print("\n".join(f"            {line}" for line in result.error.splitlines()))
    return 0 if all(result.ok for result in results) else 1
