"""Open Inference Protocol datatypes and their numpy and ONNX Runtime equivalents."""

from __future__ import annotations

import numpy as np

from modelrail.errors import InvalidInputError

NUMPY_BY_DATATYPE: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}
"""OIP datatype -> numpy dtype. BYTES tensors hold Python ``str`` objects (what ONNX Runtime string tensors take)."""

_DATATYPE_BY_ORT: dict[str, str] = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def datatype_of_ort(ort_type: str) -> str:
    """The OIP datatype of an ONNX Runtime type string such as ``tensor(float)``."""
    try:
        return _DATATYPE_BY_ORT[ort_type]
    except KeyError:
        raise ValueError(f"ONNX type {ort_type} has no Open Inference Protocol datatype") from None


def datatype_of_array(array: np.ndarray) -> str:
    """The OIP datatype of a numpy array."""
    if array.dtype.kind in {"O", "S", "U"}:
        return "BYTES"
    for name, dtype in NUMPY_BY_DATATYPE.items():
        if dtype == array.dtype:
            return name
    raise ValueError(f"numpy dtype {array.dtype} has no Open Inference Protocol datatype")


def numpy_dtype(datatype: str, *, where: str) -> np.dtype[np.generic]:
    """The numpy dtype of an OIP datatype; ``where`` names the tensor in the error."""
    try:
        return NUMPY_BY_DATATYPE[datatype]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"{where}: unknown datatype {datatype!r}; expected one of {', '.join(NUMPY_BY_DATATYPE)}"
        ) from None


def element_size(datatype: str) -> int:
    """Bytes per element in the binary tensor encoding (BYTES has no fixed size: 0)."""
    return 0 if datatype == "BYTES" else NUMPY_BY_DATATYPE[datatype].itemsize


_KINDS_ACCEPTED: dict[str, set[str]] = {
    "b": {"b"},
    "i": {"i", "u"},
    "u": {"i", "u"},
    "f": {"i", "u", "f"},
}
_KIND_WORDS = {"b": "booleans", "i": "integers", "u": "non-negative integers", "f": "numbers"}


def array_from_json(value: object, datatype: str, *, where: str) -> np.ndarray:
    """A numpy array of ``datatype`` from JSON data (nested lists or a scalar), refusing lossy conversions.

    ``where`` names the tensor or instance field in the error, e.g. ``input `x``` or ``instance 2: `x```.
    """
    dtype = numpy_dtype(datatype, where=where)
    if datatype == "BYTES":
        try:
            array = np.array(value, dtype=np.object_)
        except ValueError:
            raise InvalidInputError(f"{where}: expected a rectangular nested list of strings") from None
        if not all(isinstance(item, str) for item in array.reshape(-1)):
            raise InvalidInputError(f"{where}: expected strings for datatype BYTES")
        return array
    try:
        raw = np.asarray(value)
    except ValueError:
        raise InvalidInputError(f"{where}: expected a rectangular nested list of {_KIND_WORDS[dtype.kind]}") from None
    if raw.size == 0 and raw.dtype.kind == "f":
        return raw.astype(dtype)  # [] parses as float64; an empty tensor converts to anything
    if dtype.kind in {"i", "u"} and raw.dtype.kind in {"f", "O"}:
        exact = _exact_integers(value)  # numpy reads [0, 2**64 - 1] as float64, losing the low bits
        if exact is not None and exact.dtype.kind == "O":
            info = np.iinfo(dtype)  # type: ignore[type-var]
            raise InvalidInputError(f"{where}: values outside the {datatype} range [{info.min}, {info.max}]")
        if exact is not None:
            raw = exact
    if raw.dtype.kind not in _KINDS_ACCEPTED[dtype.kind]:
        raise InvalidInputError(
            f"{where}: expected {_KIND_WORDS[dtype.kind]} for datatype {datatype}, got {_describe_kind(raw)}"
        )
    if dtype.kind in {"i", "u"} and raw.size:
        info = np.iinfo(dtype)  # type: ignore[type-var]
        if raw.min() < info.min or raw.max() > info.max:
            raise InvalidInputError(f"{where}: values outside the {datatype} range [{info.min}, {info.max}]")
    if dtype.kind == "f" and raw.size and not np.isfinite(raw.astype(np.float64, copy=False)).all():
        raise InvalidInputError(f"{where}: values must be finite numbers")
    return raw.astype(dtype, copy=False)


def _exact_integers(value: object) -> np.ndarray | None:
    """JSON integers beyond int64 (UINT64's upper half) as exact Python ints, range-checked by the caller."""
    try:
        array = np.array(value, dtype=np.object_)
    except ValueError:
        return None
    flat = array.reshape(-1)
    if not all(isinstance(item, int) and not isinstance(item, bool) for item in flat):
        return None
    low, high = min(flat), max(flat)
    if low >= 0 and high <= np.iinfo(np.uint64).max:
        return array.astype(np.uint64)
    if np.iinfo(np.int64).min <= low and high <= np.iinfo(np.int64).max:
        return array.astype(np.int64)
    return array  # beyond any 64-bit integer: the range check refuses it


def _describe_kind(array: np.ndarray) -> str:
    kinds = {"b": "booleans", "i": "integers", "u": "integers", "f": "floating-point numbers", "U": "strings"}
    return kinds.get(array.dtype.kind, "values of mixed or non-numeric types")
