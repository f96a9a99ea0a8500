"""``modelrail`` command line: one sub-command per module, each registering its own parser.

Sub-command modules keep heavy imports (torch, onnx, moto) inside the functions they run, so every
command is always listed, ``modelrail --help`` stays fast, and a missing extra is reported, with the
install command that adds it, only by the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from modelrail import __version__

COMMAND_MODULES = (
    "modelrail.init_cli",  # init NAME --onnx PATH
    "modelrail.builder.cli",  # build [name...] [--check] [--force]
    "modelrail.local.cli",  # local up, invoke
    "modelrail.push",  # push
    "modelrail.tune.cli",  # tune NAME
    "modelrail.jobs.cli",  # job MODEL FILE.jsonl
    "modelrail.cloud.deploy_cli",  # deploy [--stage S] [-- cdk args]
    "modelrail.predict.cli",  # predict MODEL INSTANCE... [--url U --api-key K | --stage S]
    "modelrail.cloud.status_cli",  # status [--stage S]
)
# The optional extra of layers/pyproject.toml each command's heavy dependencies come from.
EXTRA_OF_COMMAND = {
    "init": "build",
    "build": "build",
    "local": "local",
    "invoke": "local",
    "tune": "local",
    "deploy": "build",  # model.yaml (pyyaml) and, for a stale model, the builder
}


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(prog="modelrail", description="Serve a folder of ONNX models as an HTTPS API.")
    parser.add_argument("--version", action="version", version=f"modelrail {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its ``run(args)`` returns the process exit status."""
    args = make_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == "modelrail":
            raise  # our own packaging bug, not a missing extra
        extra = EXTRA_OF_COMMAND.get(args.command)
        fix = f"pip install 'modelrail[{extra}]' (in this repository: make setup)" if extra else "make setup"
        print(f"modelrail {args.command}: {exc.name} is not installed; {fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
