"""The Lambda zip package: its size, and its import time with and without precompiled ``.pyc`` files.

Builds (or reuses) the package as synth does, then for each variant (as built: no byte code; and with byte
code compiled by Python 3.12, ``unchecked-hash`` so a zip's fixed timestamps do not invalidate it) reports the
unzipped and zipped bytes and the median wall time of ``import handler`` in a fresh ``python3.12 -S -s`` with
only the package on its path and ``PYTHONDONTWRITEBYTECODE=1`` (Lambda's ``/var/task`` is read-only, so nothing
is cached between cold starts), then the first answer to a sample event from a built model folder.

    .venv/bin/python bench/zip_package.py [--runs 5] [--model minilm]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers"))

from modelrail.lambda_zip import build_zip_package  # noqa: E402
from modelrail.lambda_zip.build import package_listing  # noqa: E402
from modelrail.lambda_zip.interpreter import lambda_python  # noqa: E402
from modelrail.lambda_zip.limits import MiB, tree_bytes  # noqa: E402

EVENTS = {"minilm": "minilm-predict.rest-v1.json", "digits": "digits-predict.rest-v1.json"}
CHILD = """
import json, sys, time, types
start = time.perf_counter()
import handler
imported = time.perf_counter()
context = types.SimpleNamespace(aws_request_id="bench", function_name="f", memory_limit_in_mb=2048,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", get_remaining_time_in_millis=lambda: 9e3)
response = handler.handler(json.load(open(sys.argv[1])), context)
assert response["statusCode"] == 200, response
print("BENCH " + json.dumps({"import_s": imported - start, "first_answer_s": time.perf_counter() - start}))
"""


def zipped_bytes(directory: Path) -> int:
    with tempfile.TemporaryFile() as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(directory).as_posix())
        return handle.tell()


def run_once(python: Path, package: Path, model: str) -> dict[str, float]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "PYTHONPATH": str(package),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MODELRAIL_MODEL_DIR": str(ROOT / "build" / "models" / model / "1"),
        "MODELRAIL_MODEL_NAME": model,
        "AWS_LAMBDA_FUNCTION_NAME": "f",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048",
    }
    result = subprocess.run(
        [str(python), "-S", "-s", "-c", CHILD, str(ROOT / "events" / EVENTS[model])],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(result.stderr[-3000:])
    return dict(json.loads(lines[-1].removeprefix("BENCH ")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="minilm", choices=sorted(EVENTS))
    args = parser.parse_args()
    python = lambda_python()
    if python is None:
        raise SystemExit("no python3.12 on this machine (PATH or ~/.pyenv/versions/3.12*)")
    package = build_zip_package(ROOT, ROOT / "build" / "lambda-zip")
    print(f"package {package.path.name}: {package.unzipped_bytes / MiB:.1f} MiB unzipped")
    for name, size in package_listing(package, 8):
        print(f"  {name:24} {size / MiB:6.1f} MiB")
    with tempfile.TemporaryDirectory() as scratch:
        compiled = Path(scratch) / "pyc"
        shutil.copytree(package.path, compiled)
        subprocess.run(
            [str(python), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(compiled)],
            check=True,
        )
        variants = {"no .pyc (shipped)": package.path, ".pyc, unchecked-hash": compiled}
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for _ in range(args.runs):  # rotate, so both variants share any load on the machine
            for name, path in variants.items():
                runs[name].append(run_once(python, path, args.model))
        print(f"\n{args.model}, {args.runs} runs each, medians ({python}):")
        print(f"{'variant':24} {'unzipped MiB':>12} {'zipped MiB':>10} {'import s':>9} {'first answer s':>15}")
        for name, path in variants.items():
            imports = statistics.median(r["import_s"] for r in runs[name])
            first = statistics.median(r["first_answer_s"] for r in runs[name])
            sizes = f"{tree_bytes(path) / MiB:12.1f} {zipped_bytes(path) / MiB:10.1f}"
            print(f"{name:24} {sizes} {imports:9.3f} {first:15.3f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
