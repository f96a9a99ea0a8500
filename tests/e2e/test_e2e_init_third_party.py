"""A stranger's ONNX file, one command to a served model: ``init`` -> ``build`` -> ``local up`` -> tritonclient.

The file is the name-transliteration encoder that ships inside the ``arabic-name-romanizer`` wheel on PyPI
(MIT; in the ``dev`` extra), a graph none of us wrote: INT64 token ids and a BOOL mask with symbolic batch and
length in, three outputs (FP32, BOOL, FP32) out. Every step runs as a user runs it, as a subprocess from the
repository root; answers are compared exactly with a direct ONNX Runtime run of the packaged file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton

from tests.support.local_up_process import ROOT, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NAME = "translit"
LOCAL_UP = [sys.executable, "-m", "modelrail.cli", "local", "up"]


def packaged_encoder() -> Path:
    import arabic_name_romanizer

    return Path(arabic_name_romanizer.__file__).parent / "resources" / "encoder.onnx"


def modelrail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelrail.cli", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, float]]:
    """init + build + local up; yields (base URL, what init printed, when init started)."""
    work = tmp_path_factory.mktemp("init-e2e")
    models, build = work / "models", work / "build"
    started = time.monotonic()
    init = modelrail("init", NAME, "--onnx", str(packaged_encoder()), "--models-dir", str(models))
    assert init.returncode == 0, init.stderr
    built = modelrail("build", NAME, "--models-dir", str(models), "--build-dir", str(build))
    assert built.returncode == 0, built.stdout + built.stderr
    log = work / "local-up.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [*LOCAL_UP, NAME, "--port", "0", "--models-dir", str(models), "--build-dir", str(build)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={key: value for key, value in os.environ.items() if key != "MODELRAIL_LOCAL_API_KEY"},
            start_new_session=True,
        )
    try:
        yield wait_ready(process, log), init.stdout, started
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_init_build_serve_answers_exactly_through_tritonclient(served: tuple[str, str, float]) -> None:
    url, printed, started = served
    ids = np.array([[5, 9, 2, 7, 3, 1]], dtype=np.int64)
    mask = np.ones_like(ids, dtype=bool)
    client = triton.InferenceServerClient(url.removeprefix("http://"), network_timeout=120)
    try:
        tensors = [triton.InferInput("src", [1, 6], "INT64"), triton.InferInput("src_mask", [1, 6], "BOOL")]
        tensors[0].set_data_from_numpy(ids)
        tensors[1].set_data_from_numpy(mask)
        result = client.infer(NAME, tensors)
        first_answer_s = time.monotonic() - started
        metadata = client.get_model_metadata(NAME)
    finally:
        client.close()
    print(f"\nmodelrail init -> first answer: {first_answer_s:.1f} s")  # recorded in docs/build.md, not asserted
    reference = ort.InferenceSession(str(packaged_encoder()), providers=["CPUExecutionProvider"])
    expected = reference.run(None, {"src": ids, "src_mask": mask})
    for output, want in zip(reference.get_outputs(), expected, strict=True):
        got = result.as_numpy(output.name)
        assert got is not None
        assert got.dtype == want.dtype
        assert np.array_equal(got, want), output.name
    assert [entry["name"] for entry in metadata["inputs"]] == ["src", "src_mask"]
    assert "modelrail build translit" in printed


def test_the_printed_curl_call_answers(served: tuple[str, str, float]) -> None:
    import httpx

    url, printed, _ = served
    body = json.loads(re.search(r"-d '(\{.*\})'", printed).group(1))  # type: ignore[union-attr]
    answer = httpx.post(f"{url}/v2/models/{NAME}/infer", json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    reference = ort.InferenceSession(str(packaged_encoder()), providers=["CPUExecutionProvider"])
    feeds = {
        "src": np.asarray(body["inputs"][0]["data"], dtype=np.int64),
        "src_mask": np.asarray(body["inputs"][1]["data"], dtype=bool),
    }
    expected = dict(zip([o.name for o in reference.get_outputs()], reference.run(None, feeds), strict=True))
    for output in answer.json()["outputs"]:
        want = expected[output["name"]]
        assert output["shape"] == list(want.shape)
        assert np.array_equal(np.asarray(output["data"], dtype=want.dtype).reshape(want.shape), want)
