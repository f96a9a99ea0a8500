"""A small HTTP client for the modelrail API: JSON in and out, API key or SigV4, the API's errors made readable.

Standard library only (plus botocore for SigV4, a dependency already): ``modelrail predict`` needs no extra.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelrail.constants import API_KEY_HEADER

if TYPE_CHECKING:
    import boto3

SIGV4_SERVICE = "execute-api"
"""The service name API Gateway's IAM authorization checks SigV4 signatures for ("clients must use Signature
Version 4 (SigV4) to sign their requests with AWS credentials", API Gateway developer guide; REST and HTTP APIs)."""


class PredictError(Exception):
    """A call that failed; ``status`` is the HTTP status (0 when the server was never reached)."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Answer:
    """A JSON answer and the response headers that matter to the caller."""

    body: Any
    headers: dict[str, str]


class ApiClient:
    """Calls one API base URL (``http://127.0.0.1:3000/``, ``https://<id>.execute-api.<region>.amazonaws.com/dev/``)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        sign_with: boto3.Session | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise PredictError(f"`{base_url}` is not an http(s) URL")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.api_key = api_key
        self.sign_with = sign_with
        self.timeout_s = timeout_s

    def url(self, path: str) -> str:
        """``path`` (no leading slash) under the base URL, the stage's path kept."""
        return urllib.parse.urljoin(self.base_url, path.lstrip("/"))

    def _headers(self, method: str, url: str, body: bytes | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers[API_KEY_HEADER] = self.api_key
        if self.sign_with is not None:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            credentials = self.sign_with.get_credentials()
            if credentials is None:
                raise PredictError("no AWS credentials to sign the request with (the stage uses IAM auth)")
            request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
            SigV4Auth(credentials.get_frozen_credentials(), SIGV4_SERVICE, str(self.sign_with.region_name)).add_auth(
                request
            )
            headers = dict(request.headers.items())
        return headers

    def call(self, method: str, path: str, payload: Any = None) -> Answer:
        """Send one request; a non-2xx answer raises ``PredictError`` with the API's own message."""
        url = self.url(path)
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(url, data=body, method=method, headers=self._headers(method, url, body))  # noqa: S310 # http(s) only, checked in __init__
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # nosec B310 # noqa: S310
                raw = response.read()
                headers = {key.lower(): value for key, value in response.headers.items()}
        except urllib.error.HTTPError as exc:
            raise PredictError(_describe_error(method, url, exc.code, exc.read()), status=exc.code) from None
        except urllib.error.URLError as exc:
            raise PredictError(f"{method} {url}: cannot connect ({exc.reason})") from None
        except TimeoutError:
            raise PredictError(f"{method} {url}: no answer within {self.timeout_s:g} s") from None
        try:
            return Answer(json.loads(raw), headers)
        except ValueError:
            raise PredictError(f"{method} {url}: the answer is not JSON: {raw[:200]!r}", status=200) from None


def _describe_error(method: str, url: str, status: int, raw: bytes) -> str:
    """``HTTP 400 invalid_input: <message> (request id ...)``, from the SPEC's ``{"error", "code"}`` body."""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        code = f" {body['code']}" if body.get("code") else ""
        request_id = f" (request id {body['request_id']})" if body.get("request_id") else ""
        return f"{method} {url}: HTTP {status}{code}: {body['error']}{request_id}"
    text = raw[:300].decode("utf-8", errors="replace")
    return f"{method} {url}: HTTP {status}: {text}"
