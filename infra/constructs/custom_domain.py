"""An optional custom domain name for the API's stage, with an optional base path mapping.

Through ``https://<domain>/<base_path>/...`` API Gateway routes on the path without the base path, but the Lambda
proxy event's ``path`` keeps it (docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html;
aws/serverless-java-container#34, CodeGenieApp/serverless-express#216 show such events), so every function is
told the base path in ``MODELRAIL_API_BASE_PATH`` (``constants.ENV_API_BASE_PATH``) and strips it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from constructs import Construct


@dataclass(frozen=True)
class CustomDomainSettings:
    """The ``domain_name``, ``certificate_arn`` and ``base_path`` context values.

    ``domain_name`` is ``None`` when the mapping is managed outside this stack and only its base path is given.
    """

    domain_name: str | None
    certificate_arn: str | None
    base_path: str | None
    """``/prod`` form (``routes.normalize_base_path``), or ``None`` for a mapping at the domain's root."""


class CustomDomain(Construct):
    """A regional domain name (TLS 1.2) mapped to ``api``'s deployment stage under ``base_path``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigw.RestApi,
        domain_name: str,
        certificate_arn: str,
        base_path: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        certificate = acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
        self.domain = apigw.DomainName(
            self,
            "Domain",
            domain_name=domain_name,
            certificate=certificate,
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
        )
        self.mapping = self.domain.add_base_path_mapping(
            api, base_path=base_path.strip("/") if base_path else None, stage=api.deployment_stage
        )
