"""API keys with scopes, sent as ``Authorization: Bearer <key>``."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import AuthError
from waypoint.settings import ApiKey, Scope, hash_key

_bearer = HTTPBearer(auto_error=False, description="API key with the needed scope")


def authenticate(keys: list[ApiKey], raw: str) -> ApiKey | None:
    digest = hash_key(raw)
    found = None
    for key in keys:  # compare with every key in constant time
        if hmac.compare_digest(key.sha256, digest):
            found = key
    return found


def require(*scopes: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency accepting a key that has any one of ``scopes``."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        settings = request.app.state.services.settings
        if settings.auth_disabled:
            return ApiKey(id="anonymous", sha256="0" * 64, scopes=list(scopes))
        if credentials is None:
            raise AuthError(401, "missing API key: send 'Authorization: Bearer <key>'")
        key = authenticate(request.app.state.api_keys, credentials.credentials)
        if key is None:
            raise AuthError(401, "unknown API key")
        if not set(scopes) & set(key.scopes):
            needed = " or ".join(f"'{s}'" for s in scopes)
            raise AuthError(
                403,
                f"API key '{key.id}' lacks the {needed} scope needed here "
                f"(it has: {', '.join(key.scopes) or 'none'})",
            )
        return key

    return dependency
