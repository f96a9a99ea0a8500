"""One dashboard per stage and the alarms that page: API 5xx and p99 latency, throttles, SageMaker errors,
and the runtime's own model-load failures (EMF metrics, names from ``modelrail.metrics``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from modelrail import metrics

FIVE_MINUTES = cdk.Duration.minutes(5)
API_5XX_THRESHOLD = 5
"""5xx answers in five minutes before paging; a 5xx is a bug or an outage, never an answer to bad input."""
LATENCY_P99_MS = 10_000
THROTTLE_THRESHOLD = 1
JOB_QUEUE_AGE_S = 3600
"""A job message waiting an hour (``ApproximateAgeOfOldestMessage``): every worker of the model is busy with
other jobs (the event source's maximum concurrency) or the workers fail before taking it."""
JOB_DEAD_LETTERS = 1
"""Any message in a job dead-letter queue is a job that failed ``MAX_RECEIVE_COUNT`` times (SQS developer guide,
"Creating alarms for dead-letter queues using Amazon CloudWatch": alarm on ``ApproximateNumberOfMessagesVisible``)."""


class Observability(Construct):
    """The stage's dashboard and alarms; ``alarms`` maps a short name to each alarm."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        api: apigw.RestApi,
        metrics_namespace: str,
        alarm_topic_arn: str | None,
        functions: Mapping[str, lambda_.IFunction] | None = None,
        endpoints: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.metrics_namespace = metrics_namespace
        self.alarms: dict[str, cw.Alarm] = {}
        self._action = (
            cw_actions.SnsAction(sns.Topic.from_topic_arn(self, "AlarmTopic", alarm_topic_arn))
            if alarm_topic_arn
            else None
        )
        self.dashboard = cw.Dashboard(self, "Dashboard", period_override=cw.PeriodOverride.AUTO)
        self._api(api)
        for name, function in (functions or {}).items():
            self.add_function(name, function)
        for name, (endpoint_name, variants) in (endpoints or {}).items():
            self.add_endpoint(name, endpoint_name, variants=variants)

    def add_function(self, name: str, function: lambda_.IFunction, scope: Construct | None = None) -> None:
        """A CPU model's alarms (created in ``scope``: its own nested stack) and its dashboard widgets."""
        self._function(name, function, self.metrics_namespace, scope or self)

    def add_endpoint(
        self, name: str, endpoint_name: str, *, variants: Sequence[str], scope: Construct | None = None
    ) -> None:
        """A GPU model's alarm (created in ``scope``) and its dashboard widgets, over its production variants."""
        self._endpoint(name, endpoint_name, variants, scope or self)

    def add_job_queue(self, name: str, queue: sqs.IQueue, dead_letters: sqs.IQueue, scope: Construct) -> None:
        """A model's job queue alarms (age of the oldest message, dead letters; in ``scope``) and widgets."""
        age = queue.metric_approximate_age_of_oldest_message(period=FIVE_MINUTES, statistic="Maximum")
        dead = dead_letters.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum")
        self._alarm(
            f"{name}-job-queue-age",
            age,
            threshold=JOB_QUEUE_AGE_S,
            periods=1,
            description=f"a job of model {name} has waited {JOB_QUEUE_AGE_S} s or more in its queue",
            scope=scope,
        )
        self._alarm(
            f"{name}-job-dead-letters",
            dead,
            threshold=JOB_DEAD_LETTERS,
            periods=1,
            description=f"a job message of model {name} failed every retry and is in its dead-letter queue",
            scope=scope,
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title=f"{name}: jobs",
                left=[queue.metric_approximate_number_of_messages_visible(period=FIVE_MINUTES, statistic="Maximum")],
                right=[age, dead],
            )
        )

    def _alarm(
        self,
        key: str,
        metric: cw.IMetric,
        *,
        threshold: float,
        periods: int,
        description: str,
        scope: Construct | None = None,
    ) -> cw.Alarm:
        alarm = metric.create_alarm(
            scope or self,
            f"Alarm-{key}",
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        if self._action is not None:
            alarm.add_alarm_action(self._action)
        self.alarms[key] = alarm
        return alarm

    def _api(self, api: apigw.RestApi) -> None:
        errors_5xx = api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        latency_p99 = api.metric_latency(period=FIVE_MINUTES, statistic="p99")
        self._alarm(
            "api-5xx",
            errors_5xx,
            threshold=API_5XX_THRESHOLD,
            periods=1,
            description="API answered 5xx (bugs or outages)",
        )
        self._alarm(
            "api-latency-p99",
            latency_p99,
            threshold=LATENCY_P99_MS,
            periods=3,
            description=f"API p99 latency at or over {LATENCY_P99_MS} ms for 15 minutes",
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(title="API requests", left=[api.metric_count(period=FIVE_MINUTES, statistic="Sum")]),
            cw.GraphWidget(
                title="API errors",
                left=[api.metric_client_error(period=FIVE_MINUTES, statistic="Sum"), errors_5xx],
            ),
            cw.GraphWidget(
                title="API latency",
                left=[api.metric_latency(period=FIVE_MINUTES, statistic="p50"), latency_p99],
            ),
        )

    def _runtime_metric(self, namespace: str, name: str, model: str, statistic: str) -> cw.Metric:
        return cw.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map={metrics.DIMENSION_MODEL: model},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def _function(self, name: str, function: lambda_.IFunction, namespace: str, scope: Construct) -> None:
        throttles = function.metric_throttles(period=FIVE_MINUTES, statistic="Sum")
        load_failures = self._runtime_metric(namespace, metrics.MODEL_LOAD_FAILURES, name, "Sum")
        self._alarm(
            f"{name}-throttles",
            throttles,
            threshold=THROTTLE_THRESHOLD,
            periods=1,
            description=f"Lambda throttled model {name} (reserved concurrency or account limit)",
            scope=scope,
        )
        self._alarm(
            f"{name}-load-failures",
            load_failures,
            threshold=1,
            periods=1,
            description=f"model {name} failed to load (fetch, checksum or session); it answers 503",
            scope=scope,
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title=f"{name}: invocations, errors, throttles",
                left=[
                    function.metric_invocations(period=FIVE_MINUTES, statistic="Sum"),
                    function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                    throttles,
                ],
            ),
            cw.GraphWidget(
                title=f"{name}: duration and inference ms",
                left=[
                    function.metric_duration(period=FIVE_MINUTES, statistic="p99"),
                    self._runtime_metric(namespace, metrics.INFERENCE_MS, name, "p99"),
                ],
            ),
            cw.GraphWidget(
                title=f"{name}: cold starts and model load",
                left=[self._runtime_metric(namespace, metrics.COLD_START, name, "Sum"), load_failures],
                right=[
                    self._runtime_metric(namespace, metrics.MODEL_FETCH_MS, name, "Maximum"),
                    self._runtime_metric(namespace, metrics.SESSION_MS, name, "Maximum"),
                ],
            ),
        )

    def _endpoint(self, name: str, endpoint_name: str, variants: Sequence[str], scope: Construct) -> None:
        # SageMaker publishes invocation metrics per EndpointName and VariantName: one series per served version.
        def sagemaker(metric_name: str, statistic: str, variant: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/SageMaker",
                metric_name=metric_name,
                dimensions_map={"EndpointName": endpoint_name, "VariantName": variant},
                statistic=statistic,
                period=FIVE_MINUTES,
                label=f"{metric_name} {variant}",
            )

        def total(metric_name: str) -> cw.MathExpression:
            return cw.MathExpression(
                expression="SUM(METRICS())",
                using_metrics={f"v{i}": sagemaker(metric_name, "Sum", v) for i, v in enumerate(variants)},
                period=FIVE_MINUTES,
                label=f"{metric_name}, all variants",
            )

        errors_5xx = total("Invocation5XXErrors")
        self._alarm(
            f"{name}-sagemaker-5xx",
            errors_5xx,
            threshold=API_5XX_THRESHOLD,
            periods=1,
            description=f"SageMaker endpoint of model {name} answered 5xx",
            scope=scope,
        )
        self.dashboard.add_widgets(
            cw.GraphWidget(
                title=f"{name} (SageMaker): invocations and errors per variant",
                left=[
                    *(sagemaker("Invocations", "Sum", v) for v in variants),
                    *(sagemaker("Invocation4XXErrors", "Sum", v) for v in variants),
                    *(sagemaker("Invocation5XXErrors", "Sum", v) for v in variants),
                ],
            ),
            cw.GraphWidget(
                title=f"{name} (SageMaker): p99 model latency per variant (microseconds)",
                left=[sagemaker("ModelLatency", "p99", v) for v in variants],
            ),
        )
