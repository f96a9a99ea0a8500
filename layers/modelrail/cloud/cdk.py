"""The pinned aws-cdk CLI and the arguments ``modelrail deploy`` gives it.

``package.json`` pins the CLI and ``npm ci`` (``make setup``) installs it at ``node_modules/.bin/cdk``; that is what
``npx cdk`` runs, and what ``modelrail deploy`` runs. Like ``npx``, a ``cdk`` on ``PATH`` is the fallback, but never
a download: without either, deploy stops with the command that installs it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

from modelrail.cloud.session import CloudError
from modelrail.constants import BUILD_DIR, MODELS_DIR
from modelrail.contract.stack import DEFAULT_STAGE, stack_name

CDK_JSON = "cdk.json"
LOCAL_CDK = Path("node_modules") / ".bin" / "cdk"
INSTALL_FIX = "install the pinned aws-cdk CLI with `make setup` (or `npm ci`) in the repository root"

MANAGED_CONTEXT = {"stage": "--stage", "models": "--models", "gpu_models": "--gpu-models"}
"""Context keys ``modelrail deploy`` sets from its own options (it builds and reads outputs for the same values)."""


def project_root(directory: Path) -> Path:
    """The CDK project: ``directory`` must hold ``cdk.json`` (``npx cdk`` reads it from the working directory)."""
    if not (directory / CDK_JSON).is_file():
        raise CloudError(f"no {CDK_JSON} in {directory}: run modelrail deploy from the modelrail repository's root")
    return directory


def project_context(root: Path) -> dict[str, object]:
    """``cdk.json``'s ``context`` (empty when unreadable: synth reports that itself)."""
    try:
        context = json.loads((root / CDK_JSON).read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return context if isinstance(context, dict) else {}


def default_stage(root: Path) -> str:
    """The stage ``cdk deploy`` uses without ``--context stage=...``: ``cdk.json``'s, else ``dev``."""
    stage = project_context(root).get("stage")
    return str(stage) if stage else DEFAULT_STAGE


def project_dirs(root: Path) -> tuple[Path, Path]:
    """The models folder and the build folder the CDK app reads: ``cdk.json``'s ``models_dir`` / ``build_dir``, else
    ``models`` and ``build/models``, under the project root."""
    context = project_context(root)
    models = str(context.get("models_dir") or "").strip() or MODELS_DIR
    build = str(context.get("build_dir") or "").strip() or BUILD_DIR
    return root / models, root / build


def default_gpu_models(root: Path) -> bool:
    """Whether ``cdk.json`` opts the stage into GPU models (``"gpu_models": true``)."""
    return str(project_context(root).get("gpu_models", "false")).strip().lower() == "true"


def default_models(root: Path) -> list[str] | None:
    """``cdk.json``'s model selection: ``None`` for ``all``."""
    value = str(project_context(root).get("models", "all")).strip()
    return None if value in {"", "all"} else [name.strip() for name in value.split(",") if name.strip()]


def find_cdk(root: Path) -> str:
    """The cdk executable: the pinned ``node_modules/.bin/cdk``, else ``cdk`` on ``PATH``."""
    local = root / LOCAL_CDK
    if local.is_file():
        return str(local)
    found = shutil.which("cdk")
    if found is None:
        raise CloudError(
            f"the aws-cdk CLI is not installed ({LOCAL_CDK} is missing and no `cdk` is on PATH): {INSTALL_FIX}"
        )
    return found


def _context_key(args: Sequence[str], index: int) -> str | None:
    """The context key an extra argument sets (``-c k=v``, ``--context k=v``, ``--context=k=v``), if any."""
    arg = args[index]
    if arg.startswith("--context="):
        return arg.removeprefix("--context=").partition("=")[0]
    if arg in {"-c", "--context"} and index + 1 < len(args):
        return args[index + 1].partition("=")[0]
    return None


def check_extra_args(args: Sequence[str]) -> None:
    """Refuse extra cdk arguments that set a context key deploy manages: builds and outputs would disagree."""
    for index in range(len(args)):
        key = _context_key(args, index)
        if key in MANAGED_CONTEXT:
            raise CloudError(
                f"`{args[index]}` sets context `{key}` after `--`: use modelrail deploy's {MANAGED_CONTEXT[key]} "
                "instead (deploy builds and reads the stack's outputs for the same value)"
            )


def deploy_command(
    cdk: str, *, stage: str, models: Sequence[str] | None, gpu_models: bool, extra: Sequence[str] = ()
) -> list[str]:
    """``cdk deploy modelrail-<stage> -c stage=<stage> -c models=<a,b|all> -c gpu_models=<true|false> <extra>``:
    the three values deploy built for, passed explicitly so the app cannot deploy anything else."""
    selection = ",".join(models) if models else "all"
    return [
        cdk,
        "deploy",
        stack_name(stage),
        *("--context", f"stage={stage}"),
        *("--context", f"models={selection}"),
        *("--context", f"gpu_models={'true' if gpu_models else 'false'}"),
        *extra,
    ]
