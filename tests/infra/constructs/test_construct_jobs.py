"""Jobs in the cloud (issue 15.2): the job bucket, each model's queue + dead-letter queue and worker (a GPU model's
invokes its endpoint), the jobs API function and its routes, least privilege, alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fake_repo import TINY, FakeRepo, SynthResult, is_job_worker, make_fake_repo, make_release_repo, synth

from infra.constructs import job_queue, job_worker
from infra.constructs.job_bucket import ABORT_MULTIPART_DAYS, JOB_EXPIRY_DAYS
from infra.constructs.jobs_api import LAMBDA_ENV_BYTES, JobEnvironmentError, check_env_size
from infra.stacks.modelrail_stack import ModelrailStack
from modelrail.contract import jobs
from modelrail.contract.auth import AuthMode
from modelrail.routes import JOB_ROUTES, job_submit_route

CPU = ("tiny", "tiny-b")
ALL = (*CPU, "tiny-gpu")
PSEUDO = {"AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com", "AWS::AccountId": "123456789012"}


def render(value: Any, refs: dict[str, str] | None = None) -> Any:
    """A template value as text: ``Fn::Join`` joined, pseudo parameters (and ``refs``) filled in; others as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(part, refs) for part in parts)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return {**PSEUDO, **(refs or {})}.get(value["Ref"], f"<{value['Ref']}>")
    return json.dumps(value, sort_keys=True)


def job_bucket(result: SynthResult) -> tuple[str, dict[str, Any]]:
    [(logical_id, bucket)] = [
        (k, v)
        for k, v in result.of_type("AWS::S3::Bucket").items()
        if v["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "job-bucket/"
    ]
    return logical_id, bucket


def jobs_function(result: SynthResult) -> tuple[str, dict[str, Any]]:
    [(logical_id, function)] = [
        (k, v)
        for k, v in result.of_type("AWS::Lambda::Function").items()
        if jobs.ENV_JOB_QUEUES in v["Properties"].get("Environment", {}).get("Variables", {})
    ]
    return logical_id, function


def workers(result: SynthResult) -> dict[str, tuple[str, dict[str, Any]]]:
    """Model name -> (logical id, function) of each job worker."""
    return {
        f["Properties"]["Environment"]["Variables"]["MODELRAIL_MODEL_NAME"]: (k, f)
        for k, f in result.of_type("AWS::Lambda::Function").items()
        if is_job_worker(f)
    }


def queues(result: SynthResult) -> dict[str, tuple[str, dict[str, Any]]]:
    """Queue name -> (logical id, queue) of each named (job) queue."""
    return {
        q["Properties"]["QueueName"]: (k, q)
        for k, q in result.of_type("AWS::SQS::Queue").items()
        if "QueueName" in q["Properties"]
    }


def role_statements(result: SynthResult, role_id: str) -> list[dict[str, Any]]:
    found = []
    for policy in result.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def allowed(statements: list[dict[str, Any]], action: str) -> list[str]:
    """Every resource (rendered) a role may perform ``action`` on."""
    resources = []
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if action in actions:
            listed = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            resources += [render(r) for r in listed]
    return resources


def arn(value: Any) -> str:
    return render(value)


# --- the job bucket -------------------------------------------------------------------------------------------


def test_job_bucket_is_encrypted_private_tls_only_logged_and_expires_jobs(any_stack: SynthResult) -> None:
    logical_id, bucket = job_bucket(any_stack)
    props = bucket["Properties"]
    assert props["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert "VersioningConfiguration" not in props  # transient objects: no copy of every checkpoint
    rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-jobs"]["Prefix"] == jobs.KEY_PREFIX
    assert rules["expire-jobs"]["ExpirationInDays"] == JOB_EXPIRY_DAYS == 7
    assert rules["abort-incomplete-uploads"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": ABORT_MULTIPART_DAYS
    }
    assert {rule["Status"] for rule in rules.values()} == {"Enabled"}
    [policy] = [
        p
        for p in any_stack.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logical_id}
    ]
    assert {
        "Effect": "Deny",
        "Action": "s3:*",
        "Principal": {"AWS": "*"},
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }.items() <= next(s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny").items()


def test_job_bucket_allows_browsers_only_with_a_cors_origin(cpu_only: SynthResult, iam_prod: SynthResult) -> None:
    assert "CorsConfiguration" not in job_bucket(cpu_only)[1]["Properties"]
    [rule] = job_bucket(iam_prod)[1]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == ["https://app.example.com"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "PUT"]  # presigned upload of the input, download of results


def test_the_job_bucket_name_is_a_stack_output(cpu_only: SynthResult) -> None:
    outputs = cpu_only.template.to_json()["Outputs"]
    assert outputs["JobBucketName"]["Value"] == {"Ref": job_bucket(cpu_only)[0]}


# --- queues, workers, event sources -----------------------------------------------------------------------------


def test_every_model_has_a_queue_with_a_dead_letter_queue(with_gpu: SynthResult) -> None:
    stack = with_gpu.stack.stack_name
    named = queues(with_gpu)
    assert set(named) == {job_queue.queue_name(stack, name) for name in ALL}  # the GPU model's too
    all_queues = with_gpu.of_type("AWS::SQS::Queue")
    assert len(all_queues) == 6  # three queues, three dead-letter queues
    for _, queue in named.values():
        props = queue["Properties"]
        redrive = props["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == job_queue.MAX_RECEIVE_COUNT >= 5  # Lambda guide: at least 5
        (dead_letter_id, attribute) = redrive["deadLetterTargetArn"]["Fn::GetAtt"]
        assert attribute == "Arn"
        dead_letters = all_queues[dead_letter_id]["Properties"]
        assert "RedrivePolicy" not in dead_letters
        assert dead_letters["MessageRetentionPeriod"] > props["MessageRetentionPeriod"]  # SQS guide: DLQ longer
        for encrypted in (props, dead_letters):
            assert encrypted["SqsManagedSseEnabled"] is True


def test_every_job_queue_refuses_plain_http(with_gpu: SynthResult) -> None:
    policies = with_gpu.of_type("AWS::SQS::QueuePolicy").values()
    protected = set()
    for policy in policies:
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}:
                protected |= {ref["Ref"] for ref in policy["Properties"]["Queues"]}
    assert protected == set(with_gpu.of_type("AWS::SQS::Queue"))


def test_visibility_timeout_is_six_times_the_worker_timeout(with_gpu: SynthResult) -> None:
    all_queues = with_gpu.of_type("AWS::SQS::Queue")
    functions = with_gpu.of_type("AWS::Lambda::Function")
    mappings = with_gpu.of_type("AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 3
    for mapping in mappings:
        props = mapping["Properties"]
        queue = all_queues[props["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
        worker = functions[props["FunctionName"]["Ref"]]["Properties"]
        assert worker["Timeout"] == job_worker.WORKER_TIMEOUT_S <= 900  # Lambda's maximum
        assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]
        assert queue["VisibilityTimeout"] <= 12 * 3600  # SQS's maximum visibility timeout


def test_event_source_takes_one_message_and_reports_item_failures(with_gpu: SynthResult) -> None:
    for mapping in with_gpu.of_type("AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        assert props["BatchSize"] == 1
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 2 <= props["ScalingConfig"]["MaximumConcurrency"] <= 1000
        assert props.get("Enabled", True) is True


def test_worker_is_the_model_image_with_the_worker_handler(with_gpu: SynthResult) -> None:
    found = workers(with_gpu)
    assert set(found) == set(ALL)
    found = {name: found[name] for name in CPU}
    models = {
        f["Properties"]["Environment"]["Variables"]["MODELRAIL_MODEL_NAME"]: f
        for f in with_gpu.of_type("AWS::Lambda::Function").values()
        if f["Properties"].get("PackageType") == "Image" and not is_job_worker(f)
    }
    stack = with_gpu.stack.stack_name
    for name, (_, worker) in found.items():
        props, model = worker["Properties"], models[name]["Properties"]
        assert props["Code"]["ImageUri"] == model["Code"]["ImageUri"]  # the same image, pushed once
        assert props["ImageConfig"]["Command"] == ["worker.handler"]  # functions/lambda_inference/worker.py:handler
        assert props["MemorySize"] == model["MemorySize"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        for key in ("MODELRAIL_MODEL_NAME", "MODELRAIL_MODEL_VERSION", "MODELRAIL_MODEL_PREFIX"):
            assert env[key] == model["Environment"]["Variables"][key]
        assert env["MODELRAIL_MANIFEST_SHA256"] == model["Environment"]["Variables"]["MODELRAIL_MANIFEST_SHA256"]
        assert env["MODELRAIL_FUNCTION_TIMEOUT_S"] == str(props["Timeout"])
        assert env[jobs.ENV_JOB_BUCKET] == {"Ref": job_bucket(with_gpu)[0]}
        queue_id, _ = queues(with_gpu)[job_queue.queue_name(stack, name)]
        assert env[jobs.ENV_JOB_QUEUE_URL] == {"Ref": queue_id}  # its own queue, for continuations
    assert TINY["deploy"]["memory_mb"] == found["tiny"][1]["Properties"]["MemorySize"]


def test_worker_role_reads_its_own_artifact_and_job_objects_and_sends_to_its_own_queue(with_gpu: SynthResult) -> None:
    bucket_id, _ = job_bucket(with_gpu)
    stack = with_gpu.stack.stack_name
    for name, (_, worker) in workers(with_gpu).items():
        if name not in CPU:
            continue  # test_a_gpu_models_worker_may_invoke_its_endpoint_and_read_no_artifact
        role_id = worker["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = role_statements(with_gpu, role_id)
        prefix = worker["Properties"]["Environment"]["Variables"]["MODELRAIL_MODEL_PREFIX"]
        get = allowed(statements, "s3:GetObject")
        assert len(get) == 2
        assert [r for r in get if r.endswith(f"/{prefix}*")]  # its own artifact only
        assert [r for r in get if r.endswith(f"/{jobs.KEY_PREFIX}*") and bucket_id in r]
        assert allowed(statements, "s3:PutObject") == [
            r for r in get if r.endswith(f"/{jobs.KEY_PREFIX}*")
        ]  # writes job objects only, never the model bucket
        assert allowed(statements, "s3:AbortMultipartUpload") == allowed(statements, "s3:PutObject")
        assert not allowed(statements, "s3:DeleteObject")
        queue_id, _ = queues(with_gpu)[job_queue.queue_name(stack, name)]
        own = json.dumps({"Fn::GetAtt": [queue_id, "Arn"]}, sort_keys=True)
        assert allowed(statements, "sqs:SendMessage") == [own]
        assert allowed(statements, "sqs:ReceiveMessage") == [own]
        for statement in statements:  # nothing in another model's prefix
            assert "models/tiny-gpu" not in json.dumps(statement)
            other = "tiny-b" if name == "tiny" else "tiny/"
            assert f"models/{other}" not in json.dumps(statement)


# --- the jobs API function and its routes ------------------------------------------------------------------------


def test_jobs_function_is_a_small_zip_function_naming_every_queue(with_gpu: SynthResult) -> None:
    _, function = jobs_function(with_gpu)
    props = function["Properties"]
    assert props["Handler"] == "handler.handler"  # functions/jobs/handler.py:handler
    assert props["Runtime"].startswith("python3")
    assert props["Layers"]  # the runtime package
    assert props["TracingConfig"] == {"Mode": "Active"}
    env = props["Environment"]["Variables"]
    assert env[jobs.ENV_JOB_BUCKET] == {"Ref": job_bucket(with_gpu)[0]}
    assert env["MODELRAIL_API_AUTH"] == AuthMode.API_KEY.value
    prefix = render(env[jobs.ENV_JOB_QUEUE_URL_PREFIX])
    urls = {model: prefix + name for model, name in json.loads(render(env[jobs.ENV_JOB_QUEUES])).items()}
    stack = with_gpu.stack.stack_name
    assert urls == {
        name: f"https://sqs.eu-west-1.amazonaws.com/123456789012/{job_queue.queue_name(stack, name)}" for name in ALL
    }  # every model, the GPU one too; the names are the queues' own
    assert set(queues(with_gpu)) == {url.rsplit("/", 1)[1] for url in urls.values()}


def test_jobs_function_role_is_job_objects_and_job_queues_only(with_gpu: SynthResult) -> None:
    _, function = jobs_function(with_gpu)
    statements = role_statements(with_gpu, function["Properties"]["Role"]["Fn::GetAtt"][0])
    bucket_id, _ = job_bucket(with_gpu)
    for action in ("s3:GetObject", "s3:PutObject"):  # presigned GET of results, PUT of the input
        [resource] = allowed(statements, action)
        assert bucket_id in resource
        assert resource.endswith(f"/{jobs.KEY_PREFIX}*")
    stack = with_gpu.stack.stack_name
    assert sorted(allowed(statements, "sqs:SendMessage")) == sorted(
        f"arn:<AWS::Partition>:sqs:eu-west-1:123456789012:{job_queue.queue_name(stack, name)}" for name in ALL
    )
    assert not allowed(statements, "sqs:ReceiveMessage")
    assert "models/" not in json.dumps(statements)  # no model artifact


def test_job_routes_reach_the_jobs_function_with_the_api_key(with_gpu: SynthResult) -> None:
    function_id, _ = jobs_function(with_gpu)
    methods = with_gpu.methods()
    expected = [(r.method, r.path) for r in JOB_ROUTES]
    expected += [("POST", job_submit_route(name).path) for name in ALL]
    for key in expected:
        props = methods[key]
        assert props["ApiKeyRequired"] is True, key
        assert props["Integration"]["Type"] == "AWS_PROXY", key
        assert function_id in json.dumps(props["Integration"]["Uri"]), key
    assert methods[JOB_ROUTES[0].method, JOB_ROUTES[0].path]["RequestParameters"] == {
        "method.request.path.job_id": True
    }


def test_a_job_route_shares_its_models_api_resources(with_gpu: SynthResult) -> None:
    """One ``/v1/models/<name>`` per model, CPU or GPU: API Gateway refuses two resources with the same parent and
    path part, so a job route must reuse the model's own resource."""
    found = [
        (json.dumps(r["Properties"]["ParentId"], sort_keys=True), r["Properties"]["PathPart"])
        for r in with_gpu.of_type("AWS::ApiGateway::Resource").values()
    ]
    assert len(found) == len(set(found))


def test_api_gateway_may_invoke_the_jobs_function_from_the_submit_routes_only(with_gpu: SynthResult) -> None:
    function_id, _ = jobs_function(with_gpu)
    permissions = [
        p["Properties"]
        for p in with_gpu.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    sources = sorted(render(p["SourceArn"], {}) for p in permissions)
    assert {p["Principal"] for p in permissions} == {"apigateway.amazonaws.com"}
    assert any(source.endswith("/dev/POST/v1/models/*/jobs") for source in sources)
    assert len(permissions) == 1 + len(JOB_ROUTES)  # one for every submit route, one per /v1/jobs method


def test_iam_auth_signs_the_job_routes(iam_prod: SynthResult) -> None:
    methods = iam_prod.methods()
    for key in [(r.method, r.path) for r in JOB_ROUTES] + [("POST", job_submit_route("tiny").path)]:
        assert methods[key]["AuthorizationType"] == "AWS_IAM", key
    _, function = jobs_function(iam_prod)
    assert function["Properties"]["Environment"]["Variables"]["MODELRAIL_API_AUTH"] == AuthMode.IAM.value
    # CORS: a browser may DELETE (cancel) a job, so the preflight allows it.
    [preflight] = [p for (m, path), p in methods.items() if m == "OPTIONS" and path == "/v1/jobs/{job_id}"]
    allow = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert "DELETE" in allow["method.response.header.Access-Control-Allow-Methods"]


# --- alarms ------------------------------------------------------------------------------------------------------


def test_each_job_queue_alarms_on_message_age_and_dead_letters(with_gpu: SynthResult) -> None:
    stack = with_gpu.stack.stack_name
    alarms = list(with_gpu.of_type("AWS::CloudWatch::Alarm").values())
    for name in ALL:
        queue_name = job_queue.queue_name(stack, name)
        queue_id, _ = queues(with_gpu)[queue_name]
        dead_letter_id = queues(with_gpu)[queue_name][1]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"][
            "Fn::GetAtt"
        ][0]
        by_metric = {}
        for alarm in alarms:
            props = alarm["Properties"]
            if props.get("Namespace") == "AWS/SQS":
                [dimension] = props["Dimensions"]
                by_metric.setdefault(props["MetricName"], []).append((dimension["Value"], props))
        age = [
            p
            for value, p in by_metric["ApproximateAgeOfOldestMessage"]
            if value == {"Fn::GetAtt": [queue_id, "QueueName"]}
        ]
        dead = [
            p
            for value, p in by_metric["ApproximateNumberOfMessagesVisible"]
            if value == {"Fn::GetAtt": [dead_letter_id, "QueueName"]}
        ]
        assert len(age) == len(dead) == 1, name
        assert dead[0]["Threshold"] == 1
        assert dead[0]["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert 0 < age[0]["Threshold"] <= 3600


# --- limits --------------------------------------------------------------------------------------------------------


def test_queue_names_fit_sqs_and_stay_unique() -> None:
    assert job_queue.queue_name("modelrail-dev", "minilm") == "modelrail-dev-jobs-minilm"
    long_stage = "modelrail-" + "s" * 40
    long_model = "m" * 40
    name = job_queue.queue_name(long_stage, long_model)
    assert len(name) <= 80
    assert name != job_queue.queue_name("modelrail-" + "t" * 40, long_model)


@pytest.mark.parametrize("models", [1, 20])
def test_the_jobs_environment_fits_lambdas_4_kb(models: int) -> None:
    names = {f"model-{i:02d}": job_queue.queue_name("modelrail-dev", f"model-{i:02d}") for i in range(models)}
    assert check_env_size(names, AuthMode.API_KEY) <= LAMBDA_ENV_BYTES


def test_a_stage_whose_jobs_environment_would_pass_4_kb_fails_synth_with_the_fix() -> None:
    names = {f"model-{i:02d}": job_queue.queue_name("modelrail-dev", f"model-{i:02d}") for i in range(150)}
    with pytest.raises(JobEnvironmentError, match=r"over Lambda's 4096-byte limit.*--context models="):
        check_env_size(names, AuthMode.API_KEY)


def test_stack_attributes_expose_the_job_pieces(with_gpu: SynthResult) -> None:
    stack: ModelrailStack = with_gpu.stack
    assert stack.jobs is not None
    assert stack.job_bucket is not None
    assert set(stack.job_queue_names) == set(ALL)
    assert {name for name, nested in stack.model_stacks.items() if nested.job_worker is not None} == set(ALL)


def gpu_endpoint(result: SynthResult) -> tuple[str, dict[str, Any]]:
    [(logical_id, endpoint)] = result.of_type("AWS::SageMaker::Endpoint").items()
    return logical_id, endpoint


def test_a_gpu_models_worker_is_the_cpu_image_invoking_its_endpoint(with_gpu: SynthResult) -> None:
    """The same worker code as a CPU model's, from the same image, with the endpoint and the live artifact's batch
    size in its environment (modelrail.jobs.runtime.predictor_from_env picks EndpointPredictor from it)."""
    found = workers(with_gpu)
    _, worker = found["tiny-gpu"]
    props = worker["Properties"]
    assert props["PackageType"] == "Image"
    assert props["Code"]["ImageUri"] == found["tiny"][1]["Properties"]["Code"]["ImageUri"]  # the CPU image
    assert props["ImageConfig"]["Command"] == ["worker.handler"]
    assert props["Timeout"] == jobs.WORKER_TIMEOUT_S
    env = props["Environment"]["Variables"]
    _, endpoint = gpu_endpoint(with_gpu)
    assert env[jobs.ENV_JOB_ENDPOINT_NAME] == endpoint["Properties"]["EndpointName"]
    manifest = with_gpu.stack.model_stacks["tiny-gpu"].model
    served = manifest.served[manifest.live_version].artifact_dir / "manifest.json"
    assert env[jobs.ENV_JOB_BATCH_SIZE] == str(json.loads(served.read_text())["serving"]["max_batch_size"])
    assert env["MODELRAIL_MODEL_NAME"] == "tiny-gpu"  # the worker drops messages for any other model
    assert env[jobs.ENV_JOB_BUCKET] == {"Ref": job_bucket(with_gpu)[0]}
    queue_id, _ = queues(with_gpu)[job_queue.queue_name(with_gpu.stack.stack_name, "tiny-gpu")]
    assert env[jobs.ENV_JOB_QUEUE_URL] == {"Ref": queue_id}
    assert "MODELRAIL_MODEL_PREFIX" not in env  # it loads no model


def test_a_gpu_models_worker_may_invoke_its_endpoint_and_read_no_artifact(with_gpu: SynthResult) -> None:
    _, worker = workers(with_gpu)["tiny-gpu"]
    statements = role_statements(with_gpu, worker["Properties"]["Role"]["Fn::GetAtt"][0])
    endpoint_id, _ = gpu_endpoint(with_gpu)
    assert allowed(statements, "sagemaker:InvokeEndpoint") == [render({"Ref": endpoint_id})]
    bucket_id, _ = job_bucket(with_gpu)
    [job_objects] = allowed(statements, "s3:GetObject")
    assert bucket_id in job_objects
    assert job_objects.endswith(f"/{jobs.KEY_PREFIX}*")  # job objects only: no model artifact
    assert allowed(statements, "s3:PutObject") == allowed(statements, "s3:AbortMultipartUpload") == [job_objects]
    assert "models/" not in json.dumps(statements)
    queue_id, _ = queues(with_gpu)[job_queue.queue_name(with_gpu.stack.stack_name, "tiny-gpu")]
    own = json.dumps({"Fn::GetAtt": [queue_id, "Arn"]}, sort_keys=True)
    assert allowed(statements, "sqs:SendMessage") == allowed(statements, "sqs:ReceiveMessage") == [own]
    for statement in statements:  # no other endpoint, no wildcard action
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not [a for a in actions if a.startswith("sagemaker:") and a != "sagemaker:InvokeEndpoint"]


def test_a_stage_of_gpu_models_only_takes_jobs_through_the_cpu_image(fake_repo: FakeRepo) -> None:
    """No CPU model, so no model function: the CPU Lambda image is built for the GPU model's worker alone."""
    result = synth(fake_repo, models=["tiny-gpu"], context={"gpu_models": "true"})
    assert result.stack.jobs is not None
    assert result.stack.job_bucket is not None
    result.template.resource_count_is("AWS::SQS::Queue", 2)
    result.template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    [(_, worker)] = workers(result).items()
    assert worker[1]["Properties"]["ImageConfig"]["Command"] == ["worker.handler"]
    assets = json.loads(next(result.outdir.glob("*.assets.json")).read_text())["dockerImages"]
    dockerfiles = sorted(a["source"].get("dockerFile") for a in assets.values())
    assert dockerfiles == ["functions/lambda_inference/Dockerfile", "functions/sagemaker_inference/Dockerfile"]
    assert ("POST", job_submit_route("tiny-gpu").path) in result.methods()
    assert "JobBucketName" in result.template.to_json()["Outputs"]


def test_jobs_run_on_the_live_version_during_a_canary(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The worker's default is the live version (a canary's share is of synchronous traffic); it may read every
    served version's artifact, as the model function may, and nothing else."""
    canary = {"served": ["3", "4", "5"], "live": "4", "canary": {"version": "5", "percent": 10, "bake_minutes": 5}}
    repo = make_release_repo(tmp_path_factory.mktemp("jobs-canary"), {**TINY, "version": "5"}, canary, older=["3", "4"])
    result = synth(repo, models=["tiny"])
    [(_, worker)] = workers(result).values()
    env = worker["Properties"]["Environment"]["Variables"]
    assert env["MODELRAIL_MODEL_VERSION"] == "4"
    assert env["MODELRAIL_MODEL_PREFIX"] == "models/tiny/4/"
    assert set(json.loads(env["MODELRAIL_SERVED_VERSIONS"])) == {"3", "4", "5"}
    get = allowed(role_statements(result, worker["Properties"]["Role"]["Fn::GetAtt"][0]), "s3:GetObject")
    assert sorted(r.rsplit("/models/", 1)[1] for r in get if "/models/" in r) == [
        "tiny/3/*",
        "tiny/4/*",
        "tiny/5/*",
    ]


def test_each_worker_is_named_for_sam_after_its_model(with_gpu: SynthResult) -> None:
    names = sorted(worker["Metadata"]["SamResourceId"] for _, worker in workers(with_gpu).values())
    assert names == ["tiny-b-jobs", "tiny-gpu-jobs", "tiny-jobs"]  # `sam local invoke tiny-jobs -e <an SQS event>`


def test_a_zip_models_worker_runs_from_its_zip_package(tmp_path_factory: pytest.TempPathFactory) -> None:
    """`packaging: zip`: the worker is a zip function from the model function's package (whose root has every
    functions/lambda_inference/*.py), on the same runtime and architecture, with the worker's handler."""
    repo = make_fake_repo(tmp_path_factory.mktemp("zip-jobs"))
    function_dir = repo.root / "functions" / "lambda_inference"
    (function_dir / "requirements.txt").write_text("# nothing to pin in the fake repository\n", encoding="utf-8")
    for module in ("handler.py", "worker.py"):
        (function_dir / module).write_text("def handler(event, context):\n    return {}\n", encoding="utf-8")
    result = synth(repo, models=["tiny-b"], context={"packaging": "zip"})
    [(_, worker)] = workers(result).values()
    props = worker["Properties"]
    model = next(
        f["Properties"]
        for f in result.of_type("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "handler.handler" and "SnapStart" in f["Properties"]
    )
    assert (props["Runtime"], props["Handler"]) == (model["Runtime"], "worker.handler")
    assert props["Code"] == model["Code"]  # the same package asset
    assert props.get("Architectures") == model.get("Architectures")
    assert "SnapStart" not in props
    assert props["Timeout"] == job_worker.WORKER_TIMEOUT_S
    package = result.outdir / worker["Metadata"]["aws:asset:path"]
    assert (package / "worker.py").is_file()


def test_the_stack_deploys_the_limits_local_mode_and_the_runtime_read(with_gpu: SynthResult) -> None:
    """One set of numbers (modelrail.contract.jobs): the worker's timeout, the queue's visibility timeout and
    redrive, the bucket's expiry."""
    for _, worker in workers(with_gpu).values():
        assert worker["Properties"]["Timeout"] == jobs.WORKER_TIMEOUT_S
    for _, queue in queues(with_gpu).values():
        assert queue["Properties"]["VisibilityTimeout"] == jobs.QUEUE_VISIBILITY_TIMEOUT_S
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == jobs.MAX_RECEIVE_COUNT
    rules = job_bucket(with_gpu)[1]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert [r["ExpirationInDays"] for r in rules if r["Id"] == "expire-jobs"] == [jobs.EXPIRY_DAYS]
