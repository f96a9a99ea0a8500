"""Find a CPython of the managed runtime's version on this machine, to run a package as Lambda would."""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 # asks a candidate interpreter its version, fixed argv
from pathlib import Path

from modelrail.lambda_zip.platform import LAMBDA_PYTHON


def lambda_python() -> Path | None:
    """A ``python3.12`` (``PATH`` first, then pyenv's versions), or ``None`` when this machine has none."""
    name = f"python{LAMBDA_PYTHON}"
    candidates = [Path(found)] if (found := shutil.which(name)) else []
    candidates += sorted((Path.home() / ".pyenv" / "versions").glob(f"{LAMBDA_PYTHON}*/bin/{name}"), reverse=True)
    for candidate in candidates:
        try:
            result = subprocess.run(  # noqa: S603  # nosec B603 # fixed argv, no shell
                [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if result.returncode == 0 and result.stdout.strip() == LAMBDA_PYTHON:
            return candidate
    return None
