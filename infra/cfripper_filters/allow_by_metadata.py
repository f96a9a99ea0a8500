"""cfripper filter: a rule's finding on a resource is allowed when the resource's template metadata names the
rule with a reason (``Metadata.cfripper.<RuleName>: "<why>"``, written by ``infra.scanners.allow_cfripper``).

Loaded by ``cfripper --rules-filters-folder infra/cfripper_filters`` in ``make synth``; not imported by the app.
"""

from cfripper.config.filter import Filter
from cfripper.model.enums import RuleMode
from cfripper.rules import DEFAULT_RULES


def _allowed_by_metadata(rule: str) -> Filter:
    reason = {"ref": f"resource.Metadata.cfripper.{rule}"}
    return Filter(
        reason=f"{rule} allowed by a written reason in the resource's Metadata.cfripper",
        rule_mode=RuleMode.ALLOWED,
        rules={rule},
        eval={"and": [{"exists": reason}, {"ne": [reason, ""]}]},
    )


FILTERS = [_allowed_by_metadata(rule) for rule in DEFAULT_RULES]
