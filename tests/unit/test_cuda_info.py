"""The GPU stack probes: parsers, and best-effort values on a machine without a GPU."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from modelrail import cuda_info

PROC_535 = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.54.03  Tue Jun  6 22:20:39 UTC 2023\n"
    "GCC version:  gcc version 10.5.0 20230707 (Red Hat 10.5.0-1) (GCC)\n"
)
PROC_OPEN = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.127.05  Release Build\n"


def test_driver_version_from_procfs(tmp_path: Path) -> None:
    assert cuda_info.parse_proc_driver_version(PROC_535) == "535.54.03"
    assert cuda_info.parse_proc_driver_version(PROC_OPEN) == "550.127.05"
    assert cuda_info.parse_proc_driver_version("no driver here") is None
    proc = tmp_path / "version"
    proc.write_text(PROC_535, encoding="utf-8")
    assert cuda_info.nvidia_driver_version(proc) == "535.54.03"


def test_cuda_integer_versions_read_as_major_minor() -> None:
    assert cuda_info.cuda_version_text(12020) == "12.2"
    assert cuda_info.cuda_version_text(12080) == "12.8"
    assert cuda_info.cuda_version_text(13000) == "13.0"


def test_every_field_is_a_string_and_onnxruntime_is_always_known(tmp_path: Path) -> None:
    fields = cuda_info.gpu_platform()
    assert set(fields) == {"nvidia_driver", "cuda_driver", "cuda_runtime", "onnxruntime", "onnxruntime_cuda"}
    assert all(isinstance(value, str) and value for value in fields.values())
    assert fields["onnxruntime"] == ort.__version__
    assert cuda_info.nvidia_driver_version(tmp_path / "absent") in {cuda_info.UNAVAILABLE, fields["nvidia_driver"]}
