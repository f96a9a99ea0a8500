"""Load ``functions/lambda_inference/handler.py`` the way Lambda does: a fresh module, env set first."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import json
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelrail import constants as c
from modelrail.settings import get_settings
from tests.support.serving_servers import ROOT

HANDLER = ROOT / "functions" / "lambda_inference" / "handler.py"
EVENTS = ROOT / "events"
_counter = itertools.count()


def lambda_context(request_id: str = "8f5c7a52-1d3e-4c55-9e1a-0b2c3d4e5f60") -> Any:
    """What the Lambda runtime passes as ``context`` (the attributes Mangum and our logs read)."""
    return types.SimpleNamespace(
        aws_request_id=request_id,
        function_name="modelrail-model",
        function_version="$LATEST",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:modelrail-model",
        log_group_name="/aws/lambda/modelrail-model",
        log_stream_name="2025/03/10/[$LATEST]0123456789abcdef",
        get_remaining_time_in_millis=lambda: 15_000,
    )


def event(name: str) -> dict[str, Any]:
    """A sample event from ``events/``."""
    return dict(json.loads((EVENTS / name).read_text(encoding="utf-8")))


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., types.ModuleType]]:
    """Import handler.py as a new module with the given env (what a cold Lambda process does)."""

    def load(**env: str | Path) -> types.ModuleType:
        for name in ("MODELRAIL_MODEL_BUCKET", "MODELRAIL_MODEL_DIR", "MODELRAIL_MANIFEST_SHA256"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(c.ENV_LAMBDA_FUNCTION_NAME, "modelrail-model")
        monkeypatch.setenv(c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE, "1024")
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        spec = importlib.util.spec_from_file_location(f"lambda_handler_{next(_counter)}", HANDLER)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        get_settings.cache_clear()
        return module

    yield load
    close_event_loop()


def close_event_loop() -> None:
    """Close the event loop Mangum set on this thread.

    A Lambda process keeps it for life. In the test process a later ``asyncio.run`` would drop it unclosed, and
    whichever test ran the next full garbage collection would fail on its ResourceWarning.
    """
    policy = asyncio.get_event_loop_policy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            loop = policy.get_event_loop()
    except RuntimeError:  # none set on this thread
        return
    if not loop.is_running():
        loop.close()
        policy.set_event_loop(None)
