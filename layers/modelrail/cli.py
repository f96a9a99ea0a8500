"""``modelrail`` command line: one sub-command per module, each registering its own parser.

Sub-command modules keep heavy imports (torch, onnx, moto) inside the functions they run, so
``modelrail --help`` stays fast and a missing extra is reported only by the command that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from modelrail import __version__

COMMAND_MODULES = (
    "modelrail.build.cli",  # build [name...] [--check] [--force]
    "modelrail.local.cli",  # local up, invoke
    "modelrail.push",  # push
)


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available sub-command registered."""
    parser = argparse.ArgumentParser(prog="modelrail", description="Serve a folder of ONNX models as an HTTPS API.")
    parser.add_argument("--version", action="version", version=f"modelrail {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue  # that command is not part of this installation
            raise
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its ``run(args)`` returns the process exit status."""
    args = make_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
