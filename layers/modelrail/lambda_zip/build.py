"""Build (or reuse) the zip package of the model function: pinned wheels + serving runtime + handler, trimmed.

No Docker: pip installs the Lambda platform's wheels (``--platform``, ``--only-binary=:all:``) into a folder.
The folder is cached under ``build/lambda-zip/`` by a hash of everything that goes into it, so a synth after
the first reuses it without calling pip. The package is the same for every CPU model (each function fetches its
model from S3), so one asset serves them all.

No ``.pyc`` files are shipped (``docs/performance.md``, "Zip packaging", has the measurements): with SnapStart
the imports run once, when Lambda publishes the version and takes the snapshot, so byte code would only shorten
that one-off step, while it adds to every package and must come from a Python 3.12 that synth may not have.
Lambda's ``/var/task`` is read-only, so the interpreter compiles in memory and writes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess  # nosec B404 # runs pip with a fixed argument list
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelrail.lambda_zip import limits, trim
from modelrail.lambda_zip.platform import LAMBDA_PYTHON, LambdaPlatform

BUILDER_REVISION = "1"
"""Bumped when what a package holds changes for the same inputs (a trim rule, the layout), so caches rebuild."""
FUNCTION_DIR = Path("functions/lambda_inference")
"""The model function's handler modules (copied to the package root) and its ``requirements.txt``."""
REQUIREMENTS = "requirements.txt"
RUNTIME_DIR = Path("layers/modelrail")
PACKAGE = "modelrail"
BUILD_ONLY = frozenset({"builder", "tune", "local", "lambda_zip", "cli.py", "init.py", "init_cli.py", "push.py"})
"""Parts of ``modelrail`` that only the CLI and the build use (model export, quantization, tuning, local mode,
this packager): no serving module imports them, and they pull in build-time dependencies."""
CACHE_KEEP = 2
"""Cached packages kept besides the current one, per platform (each is about 200 MB)."""
PIP_TIMEOUT_S = 900


class ZipPackageError(RuntimeError):
    """pip could not install the requirements for the Lambda platform; the message has pip's own words."""


@dataclass(frozen=True)
class ZipPackage:
    """A built package folder, ready for ``lambda.Code.from_asset``."""

    path: Path
    key: str
    """sha256 of every input: the asset hash, so CDK neither rehashes 200 MB nor uploads an unchanged package."""
    platform: LambdaPlatform
    unzipped_bytes: int


def _runtime_files(source_root: Path) -> Iterator[tuple[str, Path]]:
    """``(path inside the package, source file)`` for the serving part of the runtime and the handlers."""
    runtime = source_root / RUNTIME_DIR
    for path in sorted(runtime.rglob("*")):
        relative = path.relative_to(runtime)
        if (
            not path.is_file()
            or relative.parts[0] in BUILD_ONLY
            or "__pycache__" in relative.parts
            or path.suffix in {".pyc", ".pyo"}
        ):
            continue
        yield f"{PACKAGE}/{relative.as_posix()}", path
    for path in sorted((source_root / FUNCTION_DIR).glob("*.py")):
        yield path.name, path


def package_key(source_root: Path, platform: LambdaPlatform = LambdaPlatform.X86_64) -> str:
    """sha256 of the requirements, the runtime and handler sources, this packager's rules and the platform."""
    digest = hashlib.sha256()
    own = sorted(Path(__file__).parent.glob("*.py"))
    parts: list[tuple[str, Path]] = [
        (REQUIREMENTS, source_root / FUNCTION_DIR / REQUIREMENTS),
        *_runtime_files(source_root),
        *((f"<packager>/{p.name}", p) for p in own),
    ]
    digest.update(f"{BUILDER_REVISION}\0{platform.value}\0{LAMBDA_PYTHON}\0".encode())
    for name, path in parts:
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def pip_command(requirements: Path, target: Path, platform: LambdaPlatform) -> list[str]:
    """``pip install`` of exactly the pinned wheels for the Lambda platform into ``target``."""
    platforms = [arg for tag in platform.pip_platforms() for arg in ("--platform", tag)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--no-deps",  # the file is the resolved closure (see its header): exactly these, no resolver surprises
        "--no-compile",  # byte code of the build machine's Python would be invalid on 3.12 (module docstring)
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        *platforms,
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def _pip_install(requirements: Path, target: Path, platform: LambdaPlatform) -> None:
    command = pip_command(requirements, target, platform)
    try:
        result = subprocess.run(  # noqa: S603  # nosec B603 # fixed argv (pip), no shell
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ZipPackageError(f"pip did not finish installing {requirements} within {PIP_TIMEOUT_S} s") from None
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if "is ignored" not in line]
        raise ZipPackageError(
            f"pip could not install {requirements} for the Lambda {platform.value} Python {LAMBDA_PYTHON} runtime "
            f"(it needs PyPI the first time, then the package is cached under build/lambda-zip/); every pin needs "
            f"a binary wheel for manylinux {platform.machine}: " + "\n".join(errors[-15:])
        )


def _copy_runtime(source_root: Path, target: Path) -> None:
    for name, path in _runtime_files(source_root):
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)


def build_zip_package(
    source_root: Path, cache_dir: Path, *, platform: LambdaPlatform = LambdaPlatform.X86_64
) -> ZipPackage:
    """The package folder for ``source_root``'s model function, built now or taken from ``cache_dir``."""
    key = package_key(source_root, platform)
    final = cache_dir / f"{platform.value}-{key[:16]}"
    if not final.is_dir():
        cache_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_dir))
        try:
            _pip_install(source_root / FUNCTION_DIR / REQUIREMENTS, work, platform)
            _copy_runtime(source_root, work)
            trim.trim(work)
            limits.check_unzipped_size(work)
            with contextlib.suppress(OSError):  # another synth finished the same key first: use that one
                work.rename(final)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
        _prune(cache_dir, platform, keep=final)
    return ZipPackage(path=final, key=key, platform=platform, unzipped_bytes=limits.check_unzipped_size(final))


def _prune(cache_dir: Path, platform: LambdaPlatform, *, keep: Path) -> None:
    """Drop all but the newest ``CACHE_KEEP`` older packages of ``platform``."""
    older = sorted(
        (p for p in cache_dir.glob(f"{platform.value}-*") if p != keep and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for stale in older[CACHE_KEEP:]:
        shutil.rmtree(stale, ignore_errors=True)


def package_listing(package: ZipPackage, top: int = 10) -> Sequence[tuple[str, int]]:
    """The biggest top-level entries of a package, for reports and ``docs/performance.md``."""
    return list(limits.entry_sizes(package.path).items())[:top]
