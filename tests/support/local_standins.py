"""Stand-in handlers and container apps for local-mode tests (test support only; local mode ships none).

The real handler and container app are exercised by the e2e tests and ``test_local_invoke.py``; these let the
runtime, gateway and integrations be tested on their own, fast, with behaviour chosen by the request path.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from modelrail.local.lambda_function import FunctionConfig, LambdaFunction

STANDIN_HANDLER = textwrap.dedent(
    '''
    """A stand-in Lambda handler: what it does depends on the event's path."""
    import base64, json, os, time, uuid

    INIT_ID = uuid.uuid4().hex  # a new execution environment has a new id
    SHOWN_ENV = ("MODELRAIL_", "AWS_LAMBDA_", "STANDIN_", "TMPDIR")
    if os.environ.get("STANDIN_FAIL_INIT"):
        raise RuntimeError("init failed on purpose")


    def handler(event, context):
        path = event.get("path")
        if path == "/raise":
            raise ValueError("boom")
        if path == "/sleep":
            time.sleep(30)
        if path == "/slow":  # well inside the stand-in's 2 s timeout, long enough to overlap other requests
            time.sleep(1.2)
        if path == "/size":
            body = event.get("body") or ""
            if event.get("isBase64Encoded"):  # binaryMediaTypes */*: every body arrives so
                body = base64.b64decode(body).decode()
            return {"statusCode": 200, "body": json.dumps({"chars": len(body), "utf8_bytes": len(body.encode())})}
        if path == "/exit":
            os._exit(3)
        if path == "/malformed":
            return {"statusCode": "abc"}
        if path == "/binary":
            return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                    "body": base64.b64encode(bytes(range(256))).decode(), "isBase64Encoded": True}
        if path == "/big":
            return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}
        answer = {
            "event": event,
            "init_id": INIT_ID,
            "pid": os.getpid(),
            "env": {k: v for k, v in os.environ.items() if k.startswith(SHOWN_ENV)},
            "context": {"function_name": context.function_name, "memory": context.memory_limit_in_mb,
                        "request_id": context.aws_request_id,
                        "remaining_ms": context.get_remaining_time_in_millis()},
        }
        return {"statusCode": 200, "headers": {"Content-Type": "application/json", "X-Standin": "yes"},
                "multiValueHeaders": {"X-Multi": ["1", "2"]}, "body": json.dumps(answer)}
    '''
)

STANDIN_CONTAINER = textwrap.dedent(
    '''
    """A stand-in SageMaker container: /ping, and /invocations echoing what it received."""
    import json, os

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        status, answer, content_type = 200, b"", "application/json"
        if scope["path"] == "/ping":
            status = 200
        elif scope["path"] == "/invocations":
            attributes = headers.get("x-amzn-sagemaker-custom-attributes", "")
            if "version=9" in attributes:
                status, answer = 404, json.dumps({"error": "no version 9", "code": "version_not_found"}).encode()
            elif "version=500" in attributes:
                status, answer, content_type = 500, b"plain failure", "text/plain"
            elif "version=exit" in attributes:
                os._exit(4)
            elif "route=v1-predict" in attributes:  # a prediction per instance: its length; a non-string is a 400
                instances = json.loads(body)["instances"]
                bad = [i for i, instance in enumerate(instances) if not isinstance(instance, str)]
                if bad:
                    status = 400
                    answer = json.dumps({"error": f"instance {bad[0]}: expected a string", "code": "invalid_input"})
                else:
                    answer = json.dumps({"predictions": [[len(text), os.getpid()] for text in instances]})
                answer = answer.encode()
            else:
                answer = json.dumps({"headers": headers, "body": body.decode("utf-8", "replace"),
                                     "pid": os.getpid()}).encode()
        else:
            status = 404
        answer_headers = [(b"content-type", content_type.encode())]
        if os.environ.get("STANDIN_VERSION"):  # the version that answered, as the real container names it
            answer_headers.append((b"x-amzn-sagemaker-custom-attributes", os.environ["STANDIN_VERSION"].encode()))
        await send({"type": "http.response.start", "status": status, "headers": answer_headers})
        await send({"type": "http.response.body", "body": answer})
    '''
)


def start_standin_function(handler: str, *, concurrency: int = 1, tmp_root: Path | None = None) -> LambdaFunction:
    """A started function running the stand-in handler, 2 s timeout, one environment unless told more."""
    function = LambdaFunction(
        FunctionConfig(
            name="standin",
            handler=handler,
            env={"MODELRAIL_MODEL_NAME": "standin", "STANDIN_FLAG": "1"},
            memory_mb=512,
            timeout_s=2.0,
            concurrency=concurrency,
            tmp_root=tmp_root,
        )
    )
    function.start()
    function.wait_ready(30)
    return function
