"""``modelrail.snapstart`` in-process: what a SnapStart init does, and what its hooks do as Lambda runs them."""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

from modelrail import snapstart
from modelrail.app import create_app
from modelrail.constants import ENV_LAMBDA_INITIALIZATION_TYPE, SNAP_START_INITIALIZATION
from modelrail.errors import ModelUnavailableError
from modelrail.local.snapshot import run_after_restore, run_before_snapshot
from modelrail.settings import Settings
from tests.support.serving_servers import built_artifact


@pytest.fixture(autouse=True)
def empty_hook_registry() -> Iterator[None]:
    """The registries are process-wide: each test starts and ends with none registered."""
    get_before_snapshot().clear()
    get_after_restore().clear()
    yield
    get_before_snapshot().clear()
    get_after_restore().clear()


def test_an_on_demand_init_loads_in_the_background_and_registers_no_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_LAMBDA_INITIALIZATION_TYPE, "on-demand")
    app = create_app(Settings(model_dir=built_artifact("digits")), preload=False)
    assert snapstart.prepare(app) is False
    assert app.state.loader.loaded is None
    assert get_before_snapshot() == []
    assert get_after_restore() == []


def test_a_snapstart_init_holds_the_primed_model_and_the_hooks_make_each_restore_unique(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(ENV_LAMBDA_INITIALIZATION_TYPE, SNAP_START_INITIALIZATION)
    app = create_app(Settings(model_dir=built_artifact("digits")), preload=False)
    caplog.set_level(logging.INFO, logger="modelrail")
    monkeypatch.setattr(logging.getLogger("modelrail"), "propagate", True)
    assert snapstart.prepare(app) is True
    assert app.state.loader.loaded is not None  # loaded during init, so the snapshot holds it
    loaded = [r for r in caplog.records if r.getMessage() == "model loaded for the snapshot"]
    assert loaded
    assert {r.__dict__["primed"] for r in loaded} == {"processor"}  # a request's whole path ran once
    assert len(get_before_snapshot()) == 1
    assert len(get_after_restore()) == 1

    run_before_snapshot()
    random.seed(7)
    unseeded = random.random()
    random.seed(7)
    run_after_restore()
    assert random.random() != unseeded  # the state copied from the snapshot is not the one drawn from
    restored = [r for r in caplog.records if r.getMessage() == "restored from snapshot"]
    assert restored
    assert restored[0].__dict__["snapshot_age_s"] >= 0
    assert restored[0].__dict__["after_restore_ms"] >= 0


def test_a_model_that_cannot_load_fails_the_snapstart_init(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "digits"
    shutil.copytree(built_artifact("digits"), broken)
    manifest = json.loads((broken / "manifest.json").read_text(encoding="utf-8"))
    model_file = broken / manifest["model_file"]
    model_file.write_bytes(b"not the model" + model_file.read_bytes()[13:])
    monkeypatch.setenv(ENV_LAMBDA_INITIALIZATION_TYPE, SNAP_START_INITIALIZATION)
    app = create_app(Settings(model_dir=broken), preload=False)
    with pytest.raises(ModelUnavailableError, match=r"could not be loaded|cannot be served"):
        snapstart.prepare(app)  # Lambda then fails to publish the version instead of snapshotting a broken model
    assert get_after_restore() == []
