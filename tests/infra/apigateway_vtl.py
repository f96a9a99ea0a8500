"""Just enough of API Gateway's mapping-template runtime to render our generated VTL for real.

Velocity itself comes from airspeed-ext (a Python Velocity engine with Java string methods, built for AWS
templates); this module supplies what API Gateway puts in scope: ``$input``, ``$util`` and ``$context`` with
``requestOverride`` / ``responseOverride``, and API Gateway's integration-response selection.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

import airspeed
import airspeed.operators

# Java String methods our templates call that airspeed-ext does not provide (it has startsWith, matches, ...).
airspeed.operators.__additional_methods__[str].setdefault(
    "trim", lambda self: self.strip("".join(chr(code) for code in range(33)))
)


def escape_javascript(text: Any) -> str:
    """``$util.escapeJavaScript``: Apache Commons Lang 2 ``StringEscapeUtils.escapeJavaScript``."""
    out = []
    for char in str(text):
        code = ord(char)
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif code < 32:
            named = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
            out.append(named.get(char, f"\\u{code:04X}"))
        else:
            out.append({"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}.get(char, char))
    return "".join(out)


class Util:
    """``$util``."""

    def escapeJavaScript(self, text: Any) -> str:
        """Escape for a JavaScript string literal."""
        return escape_javascript(text)

    def base64Decode(self, text: Any) -> str:
        """Decode base64 text (UTF-8 content)."""
        return base64.b64decode(str(text), validate=True).decode("utf-8")

    def base64Encode(self, text: Any) -> str:
        """Encode text as base64."""
        return base64.b64encode(str(text).encode("utf-8")).decode("ascii")

    def parseJson(self, text: Any) -> Any:
        """A JSON document's object form."""
        return json.loads(str(text))


class Input:
    """``$input`` over one JSON payload and the method request's parameters."""

    def __init__(self, body: str, params: dict[str, str] | None = None) -> None:
        self.body = body
        self._params = params or {}

    def path(self, expression: str) -> Any:
        """``$input.path('$.a.b')``: the value at a simple JSONPath, or ``None``."""
        try:
            value: Any = json.loads(self.body)
        except json.JSONDecodeError:
            return None
        for key in [part for part in expression.removeprefix("$").split(".") if part]:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    def params(self, name: str) -> str:
        """``$input.params('x')``: a path, query or header parameter."""
        return self._params.get(name, "")


@dataclass
class Rendered:
    """A rendered template and the overrides it set."""

    body: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def render(template: str, *, body: str, params: dict[str, str] | None = None, request: bool = False) -> Rendered:
    """Render one mapping template; ``request`` picks ``requestOverride`` instead of ``responseOverride``."""
    override: dict[str, Any] = {"header": {}}
    context = {"requestOverride" if request else "responseOverride": override}
    text = airspeed.Template(template).merge({"input": Input(body, params), "util": Util(), "context": context})
    status = override.get("status")
    return Rendered(body=text.strip(), status=None if status is None else int(status), headers=dict(override["header"]))


def select_integration_response(responses: list[dict[str, Any]], status: int) -> dict[str, Any]:
    """API Gateway's choice for a non-Lambda integration: the response whose selection pattern matches the
    whole status code, else the one without a pattern."""
    matching = [r for r in responses if "SelectionPattern" in r and re.fullmatch(r["SelectionPattern"], str(status))]
    assert len(matching) <= 1, f"selection patterns overlap for {status}: {matching}"
    if matching:
        return matching[0]
    return next(r for r in responses if "SelectionPattern" not in r)


def answer(integration: dict[str, Any], status: int, body: str) -> Rendered:
    """What the caller gets for one integration answer (status + body) under ``integration``'s responses.

    The API's binary media types are ``*/*``, so every integration answer is binary data: ``CONVERT_TO_TEXT``
    hands the template its base64 text, ``CONVERT_TO_BINARY`` passes the bytes on unchanged.
    """
    response = select_integration_response(integration["IntegrationResponses"], status)
    template = response.get("ResponseTemplates", {}).get("application/json")
    if template is None:  # passthrough
        assert response.get("ContentHandling") == "CONVERT_TO_BINARY", "a binary answer could reach callers as base64"
        return Rendered(body=body, status=int(response["StatusCode"]))
    assert response.get("ContentHandling") == "CONVERT_TO_TEXT", "a template does not run on a binary payload"
    rendered = render(template, body=base64.b64encode(body.encode("utf-8")).decode("ascii"))
    rendered.status = rendered.status if rendered.status is not None else int(response["StatusCode"])
    return rendered
