"""How callers authenticate to the API."""

from enum import StrEnum


class AuthMode(StrEnum):
    """``api-key`` (the default: ``x-api-key`` + a usage plan) or ``iam`` (SigV4-signed requests)."""

    API_KEY = "api-key"
    IAM = "iam"
