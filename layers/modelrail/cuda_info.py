"""What the process can see of the GPU stack: NVIDIA driver, CUDA driver and runtime, ONNX Runtime versions.

Read once when a session is built, for the start-up log line, the metadata ``parameters`` and the message when
the CUDA provider is required but cannot start. Every probe is best effort and never raises: a value that cannot
be read is ``"unavailable"`` (on a machine without a GPU, all but ONNX Runtime's own).
"""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

UNAVAILABLE = "unavailable"
PROC_DRIVER_VERSION = Path("/proc/driver/nvidia/version")
_KERNEL_MODULE = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)")


def parse_proc_driver_version(text: str) -> str | None:
    """``535.54.03`` from ``/proc/driver/nvidia/version`` ("NVRM version: NVIDIA UNIX x86_64 Kernel Module ...")."""
    match = _KERNEL_MODULE.search(text)
    return match.group(1) if match else None


def cuda_version_text(encoded: int) -> str:
    """CUDA's integer version (1000 * major + 10 * minor) as ``12.2``."""
    return f"{encoded // 1000}.{(encoded % 1000) // 10}"


def nvidia_driver_version(proc_file: Path = PROC_DRIVER_VERSION) -> str:
    """The NVIDIA kernel driver's version, from procfs or else NVML."""
    try:
        found = parse_proc_driver_version(proc_file.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        found = None
    return found or _nvml_driver_version() or UNAVAILABLE


def _nvml_driver_version() -> str | None:
    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
        if nvml.nvmlInit_v2() != 0:
            return None
        buffer = ctypes.create_string_buffer(96)
        ok = nvml.nvmlSystemGetDriverVersion(buffer, ctypes.c_uint(len(buffer))) == 0
        nvml.nvmlShutdown()
    except (OSError, AttributeError):
        return None
    return buffer.value.decode("ascii", errors="replace") if ok else None


def _cuda_call(library: str, function: str) -> str:
    try:
        handle = ctypes.CDLL(library)
        version = ctypes.c_int(0)
        status = getattr(handle, function)(ctypes.byref(version))
    except (OSError, AttributeError):
        return UNAVAILABLE
    return cuda_version_text(version.value) if status == 0 and version.value > 0 else UNAVAILABLE


def cuda_driver_version() -> str:
    """The newest CUDA version the installed driver supports (``cuDriverGetVersion``)."""
    return _cuda_call("libcuda.so.1", "cuDriverGetVersion")


def cuda_runtime_version() -> str:
    """The CUDA runtime library this process would load (``cudaRuntimeGetVersion`` of ``libcudart.so.12``)."""
    return _cuda_call("libcudart.so.12", "cudaRuntimeGetVersion")


def onnxruntime_versions() -> dict[str, str]:
    """ONNX Runtime's version, and the CUDA its build targets (GPU packages only)."""
    import onnxruntime as ort

    try:
        from onnxruntime.capi import build_and_package_info as build

        built_for = str(getattr(build, "cuda_version", "") or UNAVAILABLE)
    except ImportError:
        built_for = UNAVAILABLE
    return {"onnxruntime": str(ort.__version__), "onnxruntime_cuda": built_for}


def gpu_platform() -> dict[str, str]:
    """Flat string fields (fit for logs and OIP ``parameters``): driver, CUDA driver/runtime, ONNX Runtime."""
    return {
        "nvidia_driver": nvidia_driver_version(),
        "cuda_driver": cuda_driver_version(),
        "cuda_runtime": cuda_runtime_version(),
        **onnxruntime_versions(),
    }
