"""Settings: env names from constants, explicit arguments first, threads from the function's vCPUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail import constants
from modelrail.settings import Settings, _cgroup_cpu_limit, available_vcpus


def test_reads_the_env_names_the_stacks_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_MODEL_NAME, "minilm")
    monkeypatch.setenv(constants.ENV_MODEL_VERSION, "1")
    monkeypatch.setenv(constants.ENV_MODEL_BUCKET, "bucket")
    monkeypatch.setenv(constants.ENV_MANIFEST_SHA256, "a" * 64)
    monkeypatch.setenv(constants.ENV_PROVIDERS, "CUDAExecutionProvider, CPUExecutionProvider")
    monkeypatch.setenv(constants.ENV_LOG_LEVEL, "debug")
    settings = Settings()
    assert (settings.model_name, settings.model_version, settings.model_bucket) == ("minilm", "1", "bucket")
    assert settings.resolved_prefix == "models/minilm/1/"
    assert settings.providers == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert settings.log_level == "DEBUG"
    assert settings.max_request_bytes == constants.LAMBDA_MAX_REQUEST_BYTES


@pytest.mark.parametrize(("value", "required"), [("true", True), ("false", False), (None, False)])
def test_require_cuda_is_what_the_stack_sets_and_off_when_unset(
    monkeypatch: pytest.MonkeyPatch, value: str | None, required: bool
) -> None:
    monkeypatch.delenv(constants.ENV_REQUIRE_CUDA, raising=False)
    if value is not None:
        monkeypatch.setenv(constants.ENV_REQUIRE_CUDA, value)
    assert Settings().require_cuda is required


def test_an_explicit_argument_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_MODEL_DIR, "/from/env")
    monkeypatch.setenv(constants.ENV_INTRA_OP_THREADS, "3")
    settings = Settings(model_dir=Path("/explicit"), intra_op_threads=1)
    assert settings.model_dir == Path("/explicit")
    assert settings.resolved_intra_op_threads == 1


def test_a_bad_value_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(constants.ENV_MANIFEST_SHA256, "not-a-hash")
    with pytest.raises(ValueError, match=constants.ENV_MANIFEST_SHA256):
        Settings()


@pytest.mark.parametrize(("memory_mb", "cap"), [(512, 1), (1769, 1), (3008, 2), (10240, 6)])
def test_lambda_threads_follow_memory_not_the_host(memory_mb: int, cap: int) -> None:
    assert available_vcpus(lambda_memory_mb=memory_mb) == min(cap, available_vcpus(lambda_memory_mb=None))


def test_a_cgroup_quota_limits_threads(tmp_path: Path) -> None:
    quota = tmp_path / "cpu.max"
    quota.write_text("150000 100000\n")
    assert _cgroup_cpu_limit(quota) == 1.5
    quota.write_text("max 100000\n")
    assert _cgroup_cpu_limit(quota) is None
    assert _cgroup_cpu_limit(tmp_path / "absent") is None
