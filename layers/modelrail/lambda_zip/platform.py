"""The Lambda platform a zip package is built for: Python 3.12 on Amazon Linux 2023, x86_64 or arm64."""

from __future__ import annotations

from enum import StrEnum

LAMBDA_PYTHON = "3.12"
"""The managed runtime's Python (``python3.12``, the first with SnapStart for Python)."""
GLIBC_MINOR = 34
"""The ``python3.12`` runtime runs on Amazon Linux 2023 (the runtime table of "Building Lambda functions with
Python" in the Lambda developer guide), whose glibc is 2.34 (as the ``public.ecr.aws/lambda/python:3.12`` base of
``functions/lambda_inference/Dockerfile`` has), so every manylinux wheel up to ``manylinux_2_34`` runs there."""
OLDEST_MANYLINUX_MINOR = 17
"""``manylinux2014`` (= ``manylinux_2_17``), the tag AWS's own instructions pass to ``pip --platform``
("How do I add Python packages with compiled binaries to my deployment package and make the package compatible
with Lambda?", AWS re:Post knowledge center)."""


class LambdaPlatform(StrEnum):
    """A Lambda instruction set architecture, by its CloudFormation name."""

    X86_64 = "x86_64"
    ARM64 = "arm64"

    @property
    def machine(self) -> str:
        """The wheel tags' machine name."""
        return "aarch64" if self is LambdaPlatform.ARM64 else "x86_64"

    def pip_platforms(self) -> list[str]:
        """Every ``--platform`` pip must accept: pip does not widen ``manylinux_2_34`` to the older tags, and
        the pins mix them (numpy ships ``manylinux_2_28`` wheels only, hf-xet ``manylinux2014`` only)."""
        return [f"manylinux_2_{minor}_{self.machine}" for minor in range(GLIBC_MINOR, OLDEST_MANYLINUX_MINOR - 1, -1)]
