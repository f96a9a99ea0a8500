"""What ``cdk deploy`` creates, on loopback: the model bucket, a function per CPU model, an endpoint per GPU model.

Each piece gets what the stack gives it in the cloud (``infra/constructs/onnx_function.py``, ``gpu_endpoint.py``,
``catalog_function.py``): the same handler or container app, the same environment names, memory and timeout,
and the artifact in the bucket at ``models/<name>/<version>/`` with its manifest's sha256 pinned.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from modelrail import constants as c
from modelrail.contract import functions as fn
from modelrail.contract import jobs as jobs_contract
from modelrail.contract.auth import AuthMode
from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.contract.releases import ReleasePlan, release_plan, variant_name
from modelrail.local.events import HttpRequest, build_proxy_event, parse_proxy_response
from modelrail.local.gateway import Integration
from modelrail.local.jobs import LocalJobs
from modelrail.local.lambda_function import DEFAULT_CONCURRENCY, FunctionConfig, LambdaFunction
from modelrail.local.lambda_integration import LambdaIntegration
from modelrail.local.releases import ReleaseIntegration, model_rng
from modelrail.local.routing import CATALOG, JOBS, RouteTable
from modelrail.local.s3 import EmbeddedS3
from modelrail.local.sagemaker_endpoint import EndpointConfig, SageMakerEndpoint
from modelrail.local.sagemaker_integration import SageMakerIntegration
from modelrail.local.sagemaker_runtime import LocalEndpoint, LocalSageMakerRuntime
from modelrail.manifest import Manifest, Packaging, Target
from modelrail.push import PushedArtifact, human_size
from modelrail.store.artifact import Artifact

LAMBDA_PYTHON = "AWS_Lambda_python3.12"
JSON_TYPE = "application/json"

Say = Callable[[str], None]


class DeploymentError(Exception):
    """Local mode could not start; the message says why and what to do."""


@dataclass(frozen=True)
class LocalModel:
    """A model to serve: its current ``model.yaml`` (deployment settings) and the verified build of every version it
    serves (``deploy.releases.served``)."""

    manifest: Manifest
    artifacts: Mapping[str, Artifact]
    """Served version -> its verified artifact (``store.current.served_artifacts``)."""

    @property
    def artifact(self) -> Artifact:
        """The artifact of the manifest's own version (the one ``modelrail build`` builds)."""
        return self.artifacts[self.manifest.version]

    @property
    def plan(self) -> ReleasePlan:
        """Served versions, live, canary and weights."""
        return release_plan(self.manifest)

    @property
    def name(self) -> str:
        """The model's name."""
        return self.manifest.name

    @property
    def target(self) -> Target:
        """``cpu`` (a Lambda function) or ``gpu`` (a SageMaker endpoint)."""
        return self.manifest.deploy.target


def catalog_json(manifests: Sequence[Manifest]) -> str:
    """The deployed-model list for these models, as the catalog reads it from the bucket (each with its live
    version: what its unversioned routes answer outside a canary's share)."""
    entries = [CatalogEntry(m.name, m.live_version, m.task.value, m.deploy.target.value).as_json() for m in manifests]
    return json.dumps(entries, separators=(",", ":"))


def function_concurrency(manifest: Manifest) -> int:
    """How many execution environments local mode runs at most for a CPU model: its ``reserved_concurrency`` (the
    function's ceiling in the cloud too), else ``DEFAULT_CONCURRENCY``."""
    return manifest.cpu_deploy.reserved_concurrency or DEFAULT_CONCURRENCY


def function_key(name: str, version: str) -> str:
    """The compute name of a model's other function version or variant: ``<name>@<its version>``."""
    return f"{name}@{version}"


def lambda_environment(name: str, memory_mb: int, root: Path) -> dict[str, str]:
    """The variables Lambda itself sets in every execution environment."""
    return {
        c.ENV_LAMBDA_FUNCTION_NAME: name,
        c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE: str(memory_mb),
        c.ENV_LAMBDA_FUNCTION_VERSION: "$LATEST",
        c.ENV_LAMBDA_LOG_GROUP_NAME: f"/aws/lambda/{name}",
        c.ENV_LAMBDA_EXECUTION_ENV: LAMBDA_PYTHON,
        c.ENV_LAMBDA_TASK_ROOT: str(root),
    }


class LocalDeployment:
    """Starts and stops every piece; ``integrations()`` and ``route_table()`` feed the gateway."""

    def __init__(
        self,
        models: Sequence[LocalModel],
        *,
        root: Path,
        catalog_manifests: Sequence[Manifest] | None = None,
        output: TextIO | None = None,
        base_path: str | None = None,
        jobs: bool = False,
        job_timeout_s: float = jobs_contract.WORKER_TIMEOUT_S,
        canary_seed: str | None = None,
    ) -> None:
        self.models = list(models)
        self.canary_seed = canary_seed
        """Seeds each model's canary split (``local.releases.model_rng``); None: a fresh sequence per start."""
        self.base_path = base_path
        """A custom domain's base path mapping (``routes.normalize_base_path``), set in functions as the stack does."""
        self.root = root
        self.catalog_manifests = None if catalog_manifests is None else list(catalog_manifests)
        self.output = output if output is not None else sys.stderr
        self.s3 = EmbeddedS3()
        self.functions: dict[str, LambdaFunction] = {}
        """Compute name -> function. A CPU model's current function version is under its name; while a canary takes
        a share, the previous one (default = the live version) is under ``function_key(name, live)``."""
        self.endpoints: dict[str, SageMakerEndpoint] = {}
        """Compute name -> container: a GPU model's live version's variant under its name, other served versions'
        under ``function_key(name, version)``."""
        self._computes: dict[str, dict[str, str]] = {}
        """Model name -> default (CPU) or served (GPU) version -> compute name."""
        self.with_jobs = jobs
        """Whether models take jobs (``local up``: yes; ``modelrail invoke`` runs one function and needs none)."""
        self.job_timeout_s = job_timeout_s
        """The job workers' timeout (the stack's is ``contract.jobs.WORKER_TIMEOUT_S``)."""
        self.jobs: LocalJobs | None = None
        self.job_workers: dict[str, LambdaFunction] = {}
        """Model name -> its job worker function, fed by the model's queue."""
        self.sagemaker_runtime: LocalSageMakerRuntime | None = None
        """InvokeEndpoint on the GPU models' containers, for their job workers (``local.sagemaker_runtime``)."""
        self._workdir: Path | None = None

    def say(self, message: str) -> None:
        """One progress line."""
        print(f"[local] {message}", file=self.output, flush=True)

    def _scratch(self, *parts: str) -> Path:
        assert self._workdir is not None
        path = self._workdir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, *, warm: bool = True) -> None:
        """Start the bucket, seed it, start every function and endpoint, and wait until each can answer."""
        handlers = (fn.LAMBDA_HANDLER, fn.CATALOG_HANDLER_FILE, fn.SAGEMAKER_APP)
        for relative in (*handlers, jobs_contract.JOB_API_HANDLER, jobs_contract.JOB_WORKER_HANDLER):
            if not (self.root / relative.partition(":")[0]).is_file():
                raise DeploymentError(
                    f"{self.root / relative.partition(':')[0]} is missing; run from the repository root"
                )
        self._workdir = Path(tempfile.mkdtemp(prefix="modelrail-local-"))
        try:
            self._start(warm=warm)
        except BaseException:
            self.stop()
            raise

    def _start(self, *, warm: bool) -> None:
        started = time.perf_counter()
        self.s3.start()
        self.say(f"embedded S3 on {self.s3.endpoint_url}, bucket {self.s3.bucket}")
        pushed = {
            (item.name, item.version): item
            for item in self.s3.seed([artifact for model in self.models for artifact in model.artifacts.values()])
        }
        for item in pushed.values():
            self.say(f"uploaded {item.name} {item.version} to {item.url} ({item.files} files, {human_size(item.size)})")
        for model in self.models:
            served = [pushed[model.name, version] for version in model.plan.served]
            if model.target is Target.GPU:
                self._add_endpoints(model, served)
            else:
                self._add_functions(model, served)
        if self.catalog_manifests is not None:
            self.functions[CATALOG] = self._catalog()
        self._jobs(pushed)
        for function in (*self.functions.values(), *self.job_workers.values()):
            function.start()
        for endpoint in self.endpoints.values():
            endpoint.start()
        self._wait_ready()
        if warm:
            asyncio.run(self._warm())
        for name, endpoint in self.endpoints.items():
            waited_ms = endpoint.wait_in_service()
            self.say(f"{name}: SageMaker container in service after {waited_ms / 1000:.1f} s (/ping answers 200)")
        self.say(f"started in {time.perf_counter() - started:.1f} s")

    def _wait_ready(self) -> None:
        """Wait for every function's first environment (or SnapStart restore), then start the job event sources."""
        for function in (*self.functions.values(), *self.job_workers.values()):
            init_ms = function.wait_ready()
            name = function.config.name
            if function.snapshot is not None and function.snapshot.init_ms is not None:
                self.say(
                    f"{name}: SnapStart snapshot taken after a {function.snapshot.init_ms / 1000:.1f} s init; "
                    f"environment 1 restored from it in {init_ms:.0f} ms"
                )
            else:
                self.say(f"{name}: function initialized in {init_ms / 1000:.1f} s")
        if self.jobs is not None:
            self.jobs.start_sources(self.job_workers)
            for name, queue in self.jobs.queues.items():
                self.say(f"{name}: job worker polls {queue} (timeout {self.job_timeout_s:.0f} s)")

    def _function_env(
        self, model: LocalModel, served: Sequence[PushedArtifact], *, default_version: str, timeout_s: float
    ) -> dict[str, str]:
        manifest = model.manifest
        return {
            **fn.model_function_env(
                served,
                default_version=default_version,
                bucket=self.s3.bucket,
                metrics_namespace=c.DEFAULT_METRICS_NAMESPACE,
                timeout_s=int(timeout_s),
            ),
            **self._base_path_env(),
            **lambda_environment(manifest.name, manifest.cpu_deploy.memory_mb, self.root),
            **self.s3.env(),
        }

    def _jobs(self, pushed: Mapping[tuple[str, str], PushedArtifact]) -> None:
        """The job bucket, a queue per model, the jobs API function and a worker function per model: a CPU model's
        runs its model in process, a GPU model's sends each batch to its endpoint through local InvokeEndpoint."""
        if not self.models or not self.with_jobs:
            return
        self.jobs = LocalJobs(
            self.s3, [model.name for model in self.models], worker_timeout_s=self.job_timeout_s, output=self.output
        )
        self.jobs.create()
        self.say(f"job bucket {self.jobs.bucket}; a job queue (+ dead-letter queue) per model")
        api_env = lambda_environment(JOBS, 256, self.root)
        self.functions[JOBS] = self.jobs.api_function(root=self.root, tmp_root=self._scratch(JOBS), lambda_env=api_env)
        gpu_models = [model for model in self.models if model.target is Target.GPU]
        if gpu_models:
            self.sagemaker_runtime = LocalSageMakerRuntime(
                {model.name: self._local_endpoint(model) for model in gpu_models}
            )
            self.sagemaker_runtime.start()
            url = self.sagemaker_runtime.endpoint_url
            self.say(f"SageMaker Runtime (InvokeEndpoint) for the GPU models' job workers on {url}")
        for model in self.models:
            worker = f"{model.name}-{JOBS}"
            if model.target is Target.GPU:
                assert self.sagemaker_runtime is not None
                memory_mb = jobs_contract.ENDPOINT_WORKER_MEMORY_MB
                env = {
                    **jobs_contract.endpoint_worker_env(
                        model=model.name,
                        version=model.plan.live,
                        bucket=self.jobs.bucket,
                        queue_url=self.jobs.queues[model.name],
                        endpoint_name=model.name,  # the stack's is <name>-<identity>; one endpoint per model either way
                        batch_size=model.artifacts[model.plan.live].manifest.serving.max_batch_size,
                    ),
                    **self.sagemaker_runtime.env(),
                }
            else:
                # A job runs on the live version (every served version stays reachable on the pinned routes).
                memory_mb = model.manifest.cpu_deploy.memory_mb
                served = [pushed[model.name, version] for version in model.plan.served]
                env = self._function_env(model, served, default_version=model.plan.live, timeout_s=self.job_timeout_s)
            env.update(lambda_environment(worker, memory_mb, self.root))
            self.job_workers[model.name] = self.jobs.worker_function(
                model.name,
                root=self.root,
                model_env=env,
                memory_mb=memory_mb,
                tmp_root=self._scratch(worker),
                tmp_variables=(c.ENV_CACHE_DIR, "TMPDIR"),
            )

    def _local_endpoint(self, model: LocalModel) -> LocalEndpoint:
        """A GPU model's endpoint for InvokeEndpoint callers: its containers as variants, with the stack's weights
        (the same containers the gateway's routes call; the draw has its own sequence, so jobs never shift the
        split the gateway's requests see)."""
        keys = self._computes[model.name]
        return LocalEndpoint(
            variants={variant_name(version): self.endpoints[key] for version, key in keys.items()},
            weights={variant_name(version): weight for version, weight in model.plan.weights().items()},
            rng=model_rng(self.canary_seed, f"{model.name}/InvokeEndpoint"),
        )

    def _add_functions(self, model: LocalModel, served: Sequence[PushedArtifact]) -> None:
        """The current function version and, while a canary takes a share, the previous one (default = live)."""
        plan = model.plan
        defaults = [plan.current_default, *([plan.live] if plan.splits else [])]
        keys = self._computes[model.name] = {}
        for number, default in enumerate(defaults):
            key = model.name if number == 0 else function_key(model.name, default)
            keys[default] = key
            self.functions[key] = self._function(model, served, default_version=default, key=key)

    def _function(
        self, model: LocalModel, served: Sequence[PushedArtifact], *, default_version: str, key: str
    ) -> LambdaFunction:
        manifest = model.manifest
        memory_mb = manifest.cpu_deploy.memory_mb  # its defaults live in the schema, as for the stack
        timeout_s = manifest.cpu_deploy.timeout_s
        env = self._function_env(model, served, default_version=default_version, timeout_s=timeout_s)
        config = FunctionConfig(
            name=key,
            handler=str(self.root / fn.LAMBDA_HANDLER),
            env=env,
            memory_mb=memory_mb,
            timeout_s=float(timeout_s),
            concurrency=function_concurrency(manifest),
            # Each execution environment has its own /tmp: the model cache and TMPDIR.
            tmp_root=self._scratch(key),
            tmp_variables=(c.ENV_CACHE_DIR, "TMPDIR"),
            # Zip packaging deploys with SnapStart: environments are restored from one initialized process.
            snapstart=manifest.cpu_deploy.packaging is Packaging.ZIP,
        )
        return LambdaFunction(config, output=self.output)

    def _base_path_env(self) -> dict[str, str]:
        return {c.ENV_API_BASE_PATH: self.base_path} if self.base_path else {}

    def _add_endpoints(self, model: LocalModel, served: Sequence[PushedArtifact]) -> None:
        """One container per served version, as the stack makes one production variant per version."""
        live = model.plan.live
        keys = self._computes[model.name] = {}
        for pushed in served:
            key = model.name if pushed.version == live else function_key(model.name, pushed.version)
            keys[pushed.version] = key
            self.endpoints[key] = self._endpoint(model, pushed, key=key)

    def _endpoint(self, model: LocalModel, pushed: PushedArtifact, *, key: str) -> SageMakerEndpoint:
        # SageMaker copies the model data (the artifact's S3 prefix) into /opt/ml/model before the container starts.
        model_dir = self._scratch(key, "opt-ml-model")
        copied = self.s3.download_prefix(pushed.prefix, model_dir)
        self.say(f"{key}: model data copied from {pushed.url} ({human_size(copied)})")
        env = {
            **fn.gpu_container_env(
                pushed,
                model_dir=str(model_dir),
                metrics_namespace=c.DEFAULT_METRICS_NAMESPACE,
                require_cuda=False,  # local mode runs the GPU container on the CPU provider by design
            ),
            c.ENV_CACHE_DIR: str(self._scratch(key, "tmp")),
            **self.s3.env(),
        }
        return SageMakerEndpoint(
            EndpointConfig(name=key, app=str(self.root / fn.SAGEMAKER_APP), env=env), output=self.output
        )

    def _catalog(self) -> LambdaFunction:
        assert self.catalog_manifests is not None
        # As the stack does: the list goes to the model bucket, the function is told where (catalog_function.py).
        document = catalog_json(self.catalog_manifests)
        key = fn.catalog_key(fn.catalog_revision(json.loads(document)))
        self.s3.client().put_object(Bucket=self.s3.bucket, Key=key, Body=document.encode(), ContentType=JSON_TYPE)
        env = {
            **fn.catalog_env(bucket=self.s3.bucket, key=key, auth=AuthMode.API_KEY),
            **self._base_path_env(),
            **lambda_environment(CATALOG, fn.CATALOG_MEMORY_MB, self.root),
            **self.s3.env(),
        }
        config = FunctionConfig(
            name=CATALOG,
            handler=str(self.root / fn.CATALOG_HANDLER_FILE),
            env=env,
            memory_mb=fn.CATALOG_MEMORY_MB,
            timeout_s=fn.CATALOG_TIMEOUT_S,
            tmp_root=self._scratch(CATALOG),
        )
        return LambdaFunction(config, output=self.output)

    async def _warm(self) -> None:
        """Send each model function a ``GET /v2/models/<name>/ready`` event: its cold start happens now, not on
        the caller's first request, and a model that cannot load says so at start-up."""
        async with httpx.AsyncClient() as client:
            for model in self.models:
                if model.target is Target.GPU:
                    continue
                keys = list(self._computes[model.name].values())
                for key in keys:
                    await self._warm_function(model.name, key, client, say_version=len(keys) > 1)

    async def _warm_function(self, name: str, key: str, client: httpx.AsyncClient, *, say_version: bool) -> None:
        path = f"/v2/models/{name}/ready"
        event = build_proxy_event(HttpRequest("GET", path, headers=[("Host", "localhost")]), resource=path)
        started = time.perf_counter()
        invocation = await self.functions[key].invoke(event, client=client)
        seconds = time.perf_counter() - started
        if invocation.function_error:
            self.say(f"{key}: the handler failed while loading the model: {invocation.payload[:500]!r}")
            return
        answer = parse_proxy_response(invocation.payload)
        if answer.status == 200:
            version = {k.lower(): v for k, v in answer.headers}.get(c.MODEL_VERSION_HEADER.lower(), "?")
            loaded = f"model loaded (default version {version})" if say_version else "model loaded"
            self.say(f"{key}: {loaded}, ready answered 200 in {seconds:.1f} s")
        else:
            detail = answer.body.decode("utf-8", "replace")[:500]
            self.say(f"{key}: model NOT loaded ({answer.status}): {detail}; requests answer 503 until fixed")

    def route_table(self) -> RouteTable:
        """The routes of every served model (each served version pinned), plus the catalog's."""
        return RouteTable.for_models(
            {model.name: model.plan.served for model in self.models}, jobs=list(self.job_workers)
        )

    def release_integration(self, model: LocalModel) -> ReleaseIntegration:
        """The model's ``live`` alias and pinned routes (``local.releases``) over its functions or containers."""
        plan = model.plan
        keys = self._computes[model.name]
        if model.target is Target.GPU:
            each: dict[str, Integration] = {v: SageMakerIntegration(self.endpoints[k]) for v, k in keys.items()}
            weighted = [(each[version], weight) for version, weight in plan.weights().items()]
            pinned = each
        else:
            by_default = {v: LambdaIntegration(self.functions[k], output=self.output) for v, k in keys.items()}
            weighted = [(by_default[version], weight) for version, weight in plan.weights().items() if weight]
            current = by_default[plan.current_default]  # it serves every version on the pinned routes
            pinned = dict.fromkeys(plan.served, current)
        return ReleaseIntegration(weighted=weighted, pinned=pinned, rng=model_rng(self.canary_seed, model.name))

    def integrations(self) -> dict[str, Integration]:
        """Compute name -> what answers its routes (a model's name: its release integration)."""
        models = {model.name for model in self.models}
        found: dict[str, Integration] = {
            name: LambdaIntegration(function, output=self.output)
            for name, function in self.functions.items()
            if name not in models  # the catalog, the jobs API
        }
        found.update({model.name: self.release_integration(model) for model in self.models})
        return found

    def stop(self) -> None:
        """Stop every process and the bucket; remove the scratch directories."""
        if self.jobs is not None:
            self.jobs.stop()
        if self.sagemaker_runtime is not None:
            self.sagemaker_runtime.stop()
        for function in (*self.job_workers.values(), *self.functions.values()):
            function.close()
        for endpoint in self.endpoints.values():
            endpoint.close()
        self.s3.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
