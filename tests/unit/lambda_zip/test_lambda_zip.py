"""The zip packager's rules, without pip: platforms, trimming, the size quota and the cache key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelrail.lambda_zip import UNZIPPED_LIMIT_BYTES, LambdaPlatform, PackageTooLargeError, package_key
from modelrail.lambda_zip.build import REQUIREMENTS, pip_command
from modelrail.lambda_zip.limits import MiB, check_unzipped_size
from modelrail.lambda_zip.trim import trim

ROOT = Path(__file__).resolve().parents[3]


def test_pip_installs_exact_pins_as_lambda_python_312_wheels(tmp_path: Path) -> None:
    command = pip_command(tmp_path / REQUIREMENTS, tmp_path / "out", LambdaPlatform.X86_64)
    joined = " ".join(command)
    for flag in ("--no-deps", "--only-binary=:all:", "--implementation cp", "--python-version 3.12", "--no-compile"):
        assert flag in joined
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    # numpy's pins are manylinux_2_28-only and hf-xet's manylinux2014-only: pip must accept both.
    assert {"manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"} <= set(platforms)
    assert not any("manylinux_2_35" in p or "aarch64" in p for p in platforms)
    assert all(p.endswith("_aarch64") for p in LambdaPlatform.ARM64.pip_platforms())


def test_trim_drops_what_no_import_reads_and_keeps_metadata(tmp_path: Path) -> None:
    files = {
        "numpy/__init__.py": "keep",
        "numpy/_core/tests/test_x.py": "drop",
        "numpy/_core/include/numpy/ndarraytypes.h": "drop",
        "numpy/__init__.pyi": "drop",
        "numpy/__pycache__/__init__.cpython-311.pyc": "drop",
        "numpy-2.0.dist-info/RECORD": "drop",
        "numpy-2.0.dist-info/METADATA": "keep",
        "opentelemetry_api-1.0.dist-info/entry_points.txt": "keep",
        "bin/f2py": "drop",
        "tests/__init__.py": "keep",  # a top-level package that happens to be called `tests`
        "numpy/testing/__init__.py": "keep",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    removed = trim(tmp_path)
    kept = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert kept == {name for name, text in files.items() if text == "keep"}
    assert removed == sum(len(text) for text in files.values() if text == "drop")


def test_a_package_over_lambdas_quota_names_its_biggest_parts(tmp_path: Path) -> None:
    for name, size in (("onnxruntime", 3000), ("numpy", 2000), ("tiny.py", 10)):
        path = tmp_path / name / "blob" if "." not in name else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
    assert check_unzipped_size(tmp_path, limit=10_000) == 5010
    with pytest.raises(PackageTooLargeError, match=r"over Lambda's 0 MiB limit.*biggest: onnxruntime .*, numpy "):
        check_unzipped_size(tmp_path, limit=4000)
    assert UNZIPPED_LIMIT_BYTES == 262_144_000 == 250 * MiB  # Lambda's "Unzipped size must be smaller than ..."


def copy_sources(target: Path) -> Path:
    shutil.copytree(ROOT / "layers" / "modelrail", target / "layers" / "modelrail")
    shutil.copytree(ROOT / "functions" / "lambda_inference", target / "functions" / "lambda_inference")
    return target


def test_the_cache_key_follows_what_goes_into_the_package(tmp_path: Path) -> None:
    root = copy_sources(tmp_path)
    key = package_key(root)
    assert package_key(root) == key
    assert package_key(root, LambdaPlatform.ARM64) != key
    (root / "layers/modelrail/builder/quantize.py").write_text("# build-time only: not in the package\n")
    assert package_key(root) == key
    (root / "layers/modelrail/app.py").write_text("# served\n", encoding="utf-8")
    served_changed = package_key(root)
    assert served_changed != key
    (root / "functions/lambda_inference/requirements.txt").write_text("numpy==2.0.0\n", encoding="utf-8")
    assert package_key(root) != served_changed
