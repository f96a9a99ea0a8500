"""Two versions of ``digits`` side by side in ``modelrail local up``, over real loopback HTTP.

Version 2 is ``digits`` retrained with another seed (a copy of ``models/digits`` whose ``train.py`` seeds 1, not 0),
built once per session into a temporary build directory next to version 1. Pinned routes answer each version's
own outputs (checked against ONNX Runtime sessions of each artifact), a 50% canary answers unversioned requests
from both versions within binomial bounds, a 0% canary never answers them, and an unknown version is a 404.
"""

from __future__ import annotations

import math
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from modelrail.constants import BUILD_DIR, MANIFEST_JSON, MODEL_VERSION_HEADER, MODELS_DIR
from modelrail.manifest import load_manifest
from modelrail.store.current import ArtifactNotCurrentError, current_artifact
from tests.support.local_up_process import ROOT, local_up

pytestmark = pytest.mark.e2e

API_KEY = "e2e-releases-key"
SEED = "14"
REQUESTS = 400
IMAGES = 64


@dataclass(frozen=True)
class Versions:
    """A models folder and a build folder holding digits versions 1 and 2."""

    root: Path
    build_dir: Path
    sessions: dict[str, ort.InferenceSession]

    def models_dir(self, name: str, releases: str) -> Path:
        """A models folder whose digits serves both versions with ``releases`` (YAML flow mapping)."""
        folder = self.root / name / "digits"
        shutil.copytree(self.root / "v2" / "digits", folder)
        manifest = folder / "model.yaml"
        manifest.write_text(f"{manifest.read_text(encoding='utf-8')}  releases: {releases}\n", encoding="utf-8")
        return folder.parent

    def logits(self, version: str, tensor: np.ndarray) -> np.ndarray:
        """What that version's model answers, run directly."""
        outputs: list[np.ndarray] = self.sessions[version].run(["logits"], {"image": tensor})
        return outputs[0]


def _copy_model(target: Path, *, version: str, seed: int) -> Path:
    folder = target / "digits"
    shutil.copytree(ROOT / MODELS_DIR / "digits", folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest, script = folder / "model.yaml", folder / "train.py"
    text = manifest.read_text(encoding="utf-8")
    assert 'version: "1"' in text
    manifest.write_text(text.replace('version: "1"', f'version: "{version}"'), encoding="utf-8")
    code = script.read_text(encoding="utf-8")
    assert "\nSEED = 0\n" in code, "models/digits/train.py no longer sets `SEED = 0`; update this test"
    script.write_text(code.replace("\nSEED = 0\n", f"\nSEED = {seed}\n"), encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    from modelrail.builder import build_models

    root = tmp_path_factory.mktemp("releases")
    build_dir = root / "build" / "models"
    v1_models = _copy_model(root / "v1", version="1", seed=0)
    try:  # the repository's own build of version 1, when it is current
        built = current_artifact(load_manifest(ROOT / MODELS_DIR / "digits" / "model.yaml"), ROOT / BUILD_DIR)
        shutil.copytree(built.directory, build_dir / "digits" / "1")
    except ArtifactNotCurrentError:
        build_models(["digits"], models_dir=v1_models, build_dir=build_dir)
    v2_models = _copy_model(root / "v2", version="2", seed=1)
    build_models(["digits"], models_dir=v2_models, build_dir=build_dir)
    sessions = {
        version: ort.InferenceSession(
            str(build_dir / "digits" / version / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        for version in ("1", "2")
    }
    for version in ("1", "2"):
        assert (build_dir / "digits" / version / MANIFEST_JSON).is_file()
    return Versions(root=root, build_dir=build_dir, sessions=sessions)


@pytest.fixture(scope="session")
def images() -> np.ndarray:
    """Model input tensors [n, 1, 8, 8] of scikit-learn digits, as the served processing makes them."""
    from sklearn.datasets import load_digits

    values = load_digits().data[:IMAGES].reshape(-1, 8, 8)
    caller = 255 - np.rint(values * 255 / 16)  # dark ink, as callers send it
    light_ink = (255 - caller.astype(np.float32)) / 255.0
    return ((light_ink - 0.5) / 0.5).reshape(-1, 1, 8, 8).astype(np.float32)


@dataclass(frozen=True)
class Stack:
    url: str
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"x-api-key": API_KEY}, timeout=60)


def start(versions: Versions, name: str, releases: str) -> Iterator[Stack]:
    models_dir = versions.models_dir(name, releases)
    log = versions.root / f"{name}.log"
    args = ("digits", "--models-dir", str(models_dir), "--build-dir", str(versions.build_dir))
    with local_up(*args, "--api-key", API_KEY, "--seed", SEED, "--no-warm", log=log) as url:
        yield Stack(url, log)


@pytest.fixture(scope="module")
def canary(versions: Versions) -> Iterator[Stack]:
    """Live 1, canary 2 at 50%."""
    yield from start(versions, "canary-50", "{served: ['1', '2'], live: '1', canary: {version: '2', percent: 50}}")


def infer(client: httpx.Client, path: str, tensor: np.ndarray) -> tuple[str, np.ndarray]:
    """(the version that answered, its logits) for one batch, through v2 infer JSON."""
    body = {
        "inputs": [{"name": "image", "datatype": "FP32", "shape": list(tensor.shape), "data": tensor.ravel().tolist()}]
    }
    answer = client.post(f"/v2/models/digits{path}/infer", json=body)
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert answer.headers[MODEL_VERSION_HEADER] == document["model_version"]
    logits = np.asarray(document["outputs"][0]["data"], dtype=np.float32).reshape(len(tensor), 10)
    return document["model_version"], logits


def binomial_bounds(n: int, p: float, confidence: float) -> tuple[int, int]:
    """The central ``confidence`` interval of Binomial(n, p): counts outside it have probability < 1 - confidence."""
    tail = (1 - confidence) / 2
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    low = next(k for k in range(n + 1) if sum(pmf[: k + 1]) >= tail)
    high = next(k for k in range(n, -1, -1) if sum(pmf[k:]) >= tail)
    return low, high


def test_pinned_routes_answer_each_versions_own_outputs(canary: Stack, versions: Versions, images: np.ndarray) -> None:
    with canary.client() as client:
        for version in ("1", "2"):
            answered, logits = infer(client, f"/versions/{version}", images)
            assert answered == version
            np.testing.assert_allclose(logits, versions.logits(version, images), rtol=1e-4, atol=1e-4)
    # The versions really differ, so answering from the wrong one could not pass.
    assert np.abs(versions.logits("1", images) - versions.logits("2", images)).max() > 0.1


def test_a_50_percent_canary_answers_unversioned_requests_from_both_within_binomial_bounds(
    canary: Stack, versions: Versions, images: np.ndarray
) -> None:
    counts: Counter[str] = Counter()
    with canary.client() as client:
        for number in range(REQUESTS):
            tensor = images[number % IMAGES : number % IMAGES + 1]
            version, logits = infer(client, "", tensor)
            np.testing.assert_allclose(logits, versions.logits(version, tensor), rtol=1e-4, atol=1e-4)
            counts[version] += 1
    low, high = binomial_bounds(REQUESTS, 0.5, 0.999)
    print(f"e2e releases: 50% canary over {REQUESTS} requests: {dict(counts)} (99.9% bounds {low}..{high})")
    assert set(counts) == {"1", "2"}
    assert low <= counts["2"] <= high, (counts, low, high)


def test_the_ready_lines_list_versions_and_weights(canary: Stack) -> None:
    log = canary.log.read_text(encoding="utf-8")
    assert f"digits: versions 1, 2; unversioned -> 1 50% (live), 2 50% (canary); split seed {SEED}" in log
    assert "/v2/models/digits/versions/1/infer" in log
    assert "/v2/models/digits/versions/2/infer" in log


def test_an_unknown_version_is_404(canary: Stack) -> None:
    with canary.client() as client:
        for path in ("/v2/models/digits/versions/3", "/v2/models/digits/versions/3/ready"):
            answer = client.get(path)
            assert answer.status_code == 404, answer.text
            assert answer.json()["code"] == "not_found"
        answer = client.post("/v2/models/digits/versions/3/infer", json={"inputs": []})
        assert answer.status_code == 404


def test_a_0_percent_canary_never_answers_unversioned_requests(versions: Versions, images: np.ndarray) -> None:
    releases = "{served: ['1', '2'], live: '1', canary: {version: '2', percent: 0}}"
    for stack in start(versions, "canary-0", releases):
        with stack.client() as client:
            answered = Counter(infer(client, "", images[n : n + 1])[0] for n in range(IMAGES))
            assert answered == Counter({"1": IMAGES})
            assert infer(client, "/versions/2", images)[0] == "2"  # still served on its pinned routes
        assert "digits: versions 1, 2; unversioned -> 1 100% (live), 2 0% (canary)" in stack.log.read_text()
