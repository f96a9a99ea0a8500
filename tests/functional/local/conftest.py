"""Fixtures for local-mode functional tests: stand-in handlers and containers (``tests/support/local_standins``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelrail.local.lambda_function import LambdaFunction
from tests.support.local_standins import STANDIN_CONTAINER, STANDIN_HANDLER, start_standin_function


@pytest.fixture(scope="session")
def standin_handler(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``path/handler.py:handler`` of the stand-in handler."""
    code = tmp_path_factory.mktemp("standin") / "handler.py"
    code.write_text(STANDIN_HANDLER, encoding="utf-8")
    return f"{code}:handler"


@pytest.fixture(scope="session")
def standin_container(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``path/serve.py:app`` of the stand-in container app."""
    code = tmp_path_factory.mktemp("container") / "serve.py"
    code.write_text(STANDIN_CONTAINER, encoding="utf-8")
    return f"{code}:app"


@pytest.fixture
def standin_function(standin_handler: str) -> Iterator[LambdaFunction]:
    """A fresh stand-in function for one test."""
    function = start_standin_function(standin_handler)
    yield function
    function.close()
