"""Dashboard and alarms: API 5xx and p99 latency, Lambda throttles, model-load failures, SageMaker 5xx."""

from __future__ import annotations

from fake_repo import SynthResult

from modelrail import metrics


def alarms(result: SynthResult) -> list[dict]:  # type: ignore[type-arg]
    return [a["Properties"] for a in result.of_type("AWS::CloudWatch::Alarm").values()]


def test_api_alarms_on_5xx_and_p99_latency(cpu_only: SynthResult) -> None:
    found = {
        (a["Namespace"], a["MetricName"], a.get("ExtendedStatistic") or a.get("Statistic")) for a in alarms(cpu_only)
    }
    assert ("AWS/ApiGateway", "5XXError", "Sum") in found
    assert ("AWS/ApiGateway", "Latency", "p99") in found


def test_each_function_alarms_on_throttles_and_load_failures(with_gpu: SynthResult) -> None:
    found = alarms(with_gpu)
    throttles = [a for a in found if a.get("MetricName") == "Throttles" and a["Namespace"] == "AWS/Lambda"]
    assert len(throttles) == 2
    load = [a for a in found if a.get("MetricName") == metrics.MODEL_LOAD_FAILURES]
    assert sorted(d["Value"] for a in load for d in a["Dimensions"]) == ["tiny", "tiny-b"]
    assert {a["Namespace"] for a in load} == {"modelrail"}


def sagemaker_metrics(alarm: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """(metric, variant) of each SageMaker metric a (metric math) alarm reads."""
    return [
        (
            m["MetricStat"]["Metric"]["MetricName"],
            {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]}["VariantName"],
        )
        for m in alarm.get("Metrics", [])
        if "MetricStat" in m and m["MetricStat"]["Metric"]["Namespace"] == "AWS/SageMaker"
    ]


def test_gpu_model_alarms_on_sagemaker_5xx_of_every_variant(with_gpu: SynthResult, cpu_only: SynthResult) -> None:
    stage = [a for a in alarms(with_gpu) if a["AlarmDescription"].startswith("SageMaker endpoint of model")]
    assert [sagemaker_metrics(a) for a in stage] == [[("Invocation5XXErrors", "v-1")]]
    assert not [a for a in alarms(cpu_only) if sagemaker_metrics(a)]


def test_one_dashboard_per_stage(cpu_only: SynthResult) -> None:
    cpu_only.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
