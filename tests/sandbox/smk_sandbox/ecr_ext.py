"""Small ECR fix-up: moto's GetAuthorizationToken says the token expired in
2015; AWS's tokens are valid for 12 hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ecr.responses import ECRResponse

_moto_get_authorization_token = ECRResponse.get_authorization_token


def get_authorization_token(self: ECRResponse) -> ActionResult:
    res = _moto_get_authorization_token(self)
    data: Any = res.result
    for item in data.get("authorizationData", []):
        item["expiresAt"] = datetime.now(timezone.utc) + timedelta(hours=12)
    return res


def install() -> None:
    ECRResponse.get_authorization_token = get_authorization_token  # type: ignore[method-assign]
