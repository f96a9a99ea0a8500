"""``modelrail init``: real graphs built with ``onnx.helper``, checked by real ONNX Runtime sessions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from modelrail.cli import main
from modelrail.manifest import QuantizationMode, Target, Task, TensorProcessing, parse_manifest


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def good_graph(opset: int = 17) -> onnx.ModelProto:
    """ids INT64 [batch, seq] and x FP32 [batch, 3] -> y = x + 1 [batch, 3], n = ids [batch, seq]."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["x", "one"], ["y"]),
            helper.make_node("Identity", ["ids"], ["n"]),
        ],
        "good",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3]),
            helper.make_tensor_value_info("n", TensorProto.INT64, ["batch", "seq"]),
        ],
        initializer=[helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def run_init(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["init", *args, "--models-dir", str(tmp_path / "models")])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_init_writes_the_shortest_manifest_that_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = save(good_graph(), tmp_path / "exported.onnx")
    code, out, _ = run_init(tmp_path, capsys, "adder", "--onnx", str(source))
    assert code == 0
    folder = tmp_path / "models" / "adder"
    assert (folder / "model.onnx").read_bytes() == source.read_bytes()
    assert not (folder / "model.onnx").is_symlink()
    text = (folder / "model.yaml").read_text()
    data = yaml.safe_load(text)
    assert data == {"name": "adder", "version": "1", "task": "tensor", "source": "model.onnx", "quantization": "none"}
    manifest = parse_manifest(data)
    assert manifest.quantization.mode is QuantizationMode.NONE
    assert manifest.gate is None
    assert manifest.deploy.target is Target.CPU
    assert isinstance(manifest.processing, TensorProcessing)
    assert all(line.startswith("#") or "#" in line or ":" in line for line in text.splitlines())
    assert "# the fp32 ONNX file" in text  # commented
    assert text in "\n".join(line.removeprefix("  ") for line in out.splitlines()) + "\n"  # printed as written
    assert "modelrail build adder --models-dir" in out


def test_printed_calls_match_the_signature(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_init(tmp_path, capsys, "adder", "--onnx", str(save(good_graph(), tmp_path / "g.onnx")))
    assert code == 0
    body = json.loads(re.search(r"-d '(\{.*\})'", out).group(1))  # type: ignore[union-attr]
    assert [(t["name"], t["datatype"], t["shape"]) for t in body["inputs"]] == [
        ("ids", "INT64", [1, 8]),  # symbolic batch -> 1, symbolic seq -> a small size
        ("x", "FP32", [1, 3]),
    ]
    assert body["inputs"][0]["data"] == [[0] * 8]
    assert "/v2/models/adder/infer" in out
    assert 'httpclient.InferInput("ids", [1, 8], "INT64")' in out
    assert 'httpclient.InferInput("x", [1, 3], "FP32")' in out
    assert 'client.infer("adder", inputs)' in out
    assert 'result.as_numpy("y")' in out


def test_the_example_batches_state_and_shared_inputs_as_the_runtime_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # recurrent state [2, B, 4] batches along axis 1 and a 0-d sample rate is shared: the printed request must
    # be one instance of each, or the runtime refuses it for disagreeing batch sizes
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4]),
        helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "B", 4]),
        helper.make_tensor_value_info("sr", TensorProto.INT64, []),
    ]
    outputs = [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 4]),
        helper.make_tensor_value_info("next_state", TensorProto.FLOAT, [2, "B", 4]),
    ]
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Neg", ["state"], ["next_state"])]
    model = helper.make_model(
        helper.make_graph(nodes, "rnn", inputs, outputs), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 8
    code, out, _ = run_init(tmp_path, capsys, "rnn", "--onnx", str(save(model, tmp_path / "rnn.onnx")))
    assert code == 0
    body = json.loads(re.search(r"-d '(\{.*\})'", out).group(1))  # type: ignore[union-attr]
    assert [(t["name"], t["shape"]) for t in body["inputs"]] == [("x", [1, 4]), ("state", [2, 1, 4]), ("sr", [])]


def test_gpu_target_adds_only_the_deploy_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = save(good_graph(), tmp_path / "g.onnx")
    code, _, _ = run_init(tmp_path, capsys, "adder-gpu", "--onnx", str(source), "--target", "gpu", "--link")
    assert code == 0
    folder = tmp_path / "models" / "adder-gpu"
    assert (folder / "model.onnx").is_symlink()
    assert (folder / "model.onnx").resolve() == source.resolve()
    data = yaml.safe_load((folder / "model.yaml").read_text())
    assert data["deploy"] == {"target": "gpu"}
    assert parse_manifest(data).deploy.target is Target.GPU


def test_tabular_task_reads_the_feature_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["rows"], ["out"])],
        "tab",
        [helper.make_tensor_value_info("rows", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    code, _, _ = run_init(tmp_path, capsys, "tab", "--onnx", str(save(model, tmp_path / "t.onnx")), "--task", "tabular")
    assert code == 0
    manifest = parse_manifest(yaml.safe_load((tmp_path / "models" / "tab" / "model.yaml").read_text()))
    assert manifest.task is Task.TABULAR
    assert manifest.processing.features == ["f0", "f1", "f2"]  # type: ignore[union-attr]


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "weights.onnx"
    source.write_bytes(b"PK\x03\x04 this is a zip, not a protobuf")
    code, _, err = run_init(tmp_path, capsys, "adder", "--onnx", str(source))
    assert code == 1
    assert f"{source} is not an ONNX file" in err
    assert "fix: pass a model exported to ONNX" in err
    assert not (tmp_path / "models" / "adder").exists()


def test_a_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_init(tmp_path, capsys, "adder", "--onnx", str(tmp_path / "nope.onnx"))
    assert code == 1
    assert "nope.onnx: no such file" in err


def test_an_operator_the_cpu_provider_lacks_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = helper.make_graph(
        [helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    model.ir_version = 8
    source = save(model, tmp_path / "custom.onnx")
    code, _, err = run_init(tmp_path, capsys, "custom", "--onnx", str(source))
    assert code == 1
    assert f"{source}: ONNX Runtime" in err
    assert "CPU provider cannot run this graph" in err
    assert "(opsets: ai.onnx 17, com.example 1): operator Frobnicate of domain com.example is unknown to it" in err
    assert "fix: re-export it" in err
    assert not (tmp_path / "models" / "custom").exists()


def test_an_opset_onnx_runtime_does_not_know_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = save(good_graph(opset=99), tmp_path / "future.onnx")
    code, _, err = run_init(tmp_path, capsys, "future", "--onnx", str(source))
    assert code == 1
    assert "cannot run this graph (opsets: ai.onnx 99): opset 99 of ai.onnx is newer than the newest it supports" in err
    assert "fix: re-export it with an opset" in err


def test_an_opset_too_old_for_the_cpu_kernels_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "old",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 5)])
    model.ir_version = 8
    code, _, err = run_init(tmp_path, capsys, "old", "--onnx", str(save(model, tmp_path / "old.onnx")))
    assert code == 1
    assert "(opsets: ai.onnx 5): it has no CPU kernel for operator Relu" in err


def test_a_taken_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = save(good_graph(), tmp_path / "g.onnx")
    assert run_init(tmp_path, capsys, "adder", "--onnx", str(source))[0] == 0
    before = (tmp_path / "models" / "adder" / "model.yaml").read_text()
    code, _, err = run_init(tmp_path, capsys, "adder", "--onnx", str(source))
    assert code == 1
    assert "the name 'adder' is taken; fix: choose another name" in err
    assert (tmp_path / "models" / "adder" / "model.yaml").read_text() == before


@pytest.mark.parametrize("name", ["Adder", "my_model", "adder-", "a" * 41])
def test_a_name_that_is_not_dns_safe_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, _, err = run_init(tmp_path, capsys, name, "--onnx", str(save(good_graph(), tmp_path / "g.onnx")))
    assert code == 1
    assert f"model name {name!r} is not dns-safe; fix:" in err
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_external_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = good_graph()
    big = numpy_helper.from_array(np.zeros(1024, dtype=np.float32), "big")  # raw data, so it can go external
    model.graph.initializer.append(big)
    onnx.save(model, str(tmp_path / "ext.onnx"), save_as_external_data=True, size_threshold=16)
    code, _, err = run_init(tmp_path, capsys, "ext", "--onnx", str(tmp_path / "ext.onnx"))
    assert code == 1
    assert "external data files" in err
    assert "save_as_external_data=False" in err
