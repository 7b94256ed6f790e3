"""Who may call ``POST /results``: the image worker's role, as API Gateway names a signed caller.

The route is AWS_IAM and the API's resource policy admits only the image worker's role (yaml/processors.yaml);
the bot checks again, so that a policy edited by hand or an API deployed without it still delivers nobody
else's prediction. API Gateway passes the caller as ``requestContext.identity.userArn``: for a Lambda's role
that is the session ``arn:aws:sts::<account>:assumed-role/<role name>/<session>``.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Sequence

from ganger import constants

logger = logging.getLogger(__name__)
ENV_RESULTS_CALLER_ROLE = "GANGER_RESULTS_CALLER_ROLE"  # the image worker's role ARN (the template sets it)
_ROLE_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[^/]+)$")


def session_pattern(role_arn: str) -> str | None:
    """The caller ARN of any session of ``role_arn`` (a role's path is not in its sessions' ARNs); None when
    ``role_arn`` is not a role's ARN."""
    found = _ROLE_ARN.match(role_arn)
    if not found:
        return None
    return f"arn:{found['partition']}:sts::{found['account']}:assumed-role/{found['name']}/*"


def allowed_callers(configured: Sequence[str]) -> list[str]:
    """The caller patterns: the config's ``results_callers`` when set, else the image worker's role from the
    environment; empty (nobody) when neither is set or the variable holds no role ARN."""
    if configured:
        return list(configured)
    role_arn = constants.getenv(ENV_RESULTS_CALLER_ROLE) or ""
    pattern = session_pattern(role_arn)
    if pattern is None:
        logger.error("POST /results accepts nobody: %s is %r, not a role ARN", ENV_RESULTS_CALLER_ROLE, role_arn)
        return []
    return [pattern]


def caller_allowed(caller_arn: str, patterns: Sequence[str]) -> bool:
    """Whether the signed caller matches one of the patterns (``*`` matches within and across segments)."""
    return bool(caller_arn) and any(fnmatch.fnmatchcase(caller_arn, pattern) for pattern in patterns)
