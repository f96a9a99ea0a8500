"""Fake AWS credentials for tests that call moto (in process or its server): never a real account or profile."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def fake_credentials(monkeypatch: pytest.MonkeyPatch, *, unset: Iterable[str] = ("AWS_ENDPOINT_URL_S3",)) -> None:
    """Set ``CREDENTIALS`` and remove ``unset`` (endpoint or profile variables a developer's shell may hold)."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
