"""API keys with scopes, sent as ``Authorization: Bearer <key>``, and the rate limits
(:mod:`service.ratelimit`) on failed authentications and on each key's requests."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from app.errors import AuthError
from service.ratelimit import RateLimiter
from service.settings import ApiKey, Scope, hash_key

_bearer = HTTPBearer(auto_error=False, description="API key with the needed scope")
#: where a request keeps the key it was identified by (the route guard identifies it
#: first, the route's scope dependency then reads it instead of hashing it again)
_IDENTIFIED = "waypoint.api_key"


def authenticate(keys: list[ApiKey], raw: str) -> ApiKey | None:
    digest = hash_key(raw)
    found = None
    for key in keys:  # compare with every key in constant time
        if hmac.compare_digest(key.sha256, digest):
            found = key
    return found


def limiter(request: Request) -> RateLimiter | None:
    """The app's rate limiter (built on first use from the services), None when off."""
    state = request.app.state
    built: RateLimiter | None = getattr(state, "rate_limiter", None)
    if built is None:
        services = state.services
        settings = services.settings
        if not settings.rate_limit_enabled:
            return None
        built = RateLimiter(
            services.redis,
            prefix=settings.key_prefix,
            window_s=settings.rate_limit_window_s,
            limits=settings.rate_limits,
            lease=settings.rate_limit_lease,
            failed_auth_limit=settings.failed_auth_limit,
        )
        state.rate_limiter = built
    return built


def too_many(retry_after: float, detail: str) -> HTTPException:
    return HTTPException(429, detail, headers={"Retry-After": str(int(retry_after))})


async def _refuse(request: Request, rate: RateLimiter | None, status: int, detail: str) -> NoReturn:
    """Raise the authentication failure (a wrong key), or 429 once the address sent too
    many wrong keys."""
    if rate is not None:
        address = request.client.host if request.client else "unknown"
        retry = await rate.failed_auth(address)
        if retry is not None:
            raise too_many(retry, f"too many failed authentications; retry in {int(retry)} s")
    raise AuthError(status, detail)


async def identify(request: Request, token: str | None) -> ApiKey | None:
    """The caller's key: 401 when it is missing or unknown (a wrong key counts toward the
    address's failed authentications), 429 once the address is blocked. None when auth is
    disabled."""
    settings = request.app.state.services.settings
    if settings.auth_disabled:
        return None
    known: tuple[str, ApiKey] | None = request.scope.get(_IDENTIFIED)
    if known is not None and token is not None and known[0] == token:
        return known[1]
    rate = limiter(request)
    if rate is not None and request.client is not None:
        blocked = rate.blocked(request.client.host)
        if blocked is not None:
            raise too_many(blocked, f"too many failed authentications; retry in {int(blocked)} s")
    if token is None:  # not a guess: not counted as a failed authentication
        raise AuthError(401, "missing API key: send 'Authorization: Bearer <key>'")
    key = authenticate(request.app.state.api_keys, token)
    if key is None:
        await _refuse(request, rate, 401, "unknown API key")
    request.scope[_IDENTIFIED] = (token, key)
    return key


async def authorize(request: Request, token: str | None, scopes: tuple[Scope, ...]) -> ApiKey:
    """The caller's key if it holds any one of ``scopes`` (403 if not, 429 over its rate
    limit); what :func:`require`'s dependency checks, for routes that call it directly."""
    key = await identify(request, token)
    if key is None:
        return ApiKey(id="anonymous", sha256="0" * 64, scopes=list(scopes))
    rate = limiter(request)
    held = [s for s in scopes if s in key.scopes]
    if not held:
        needed = " or ".join(f"'{s}'" for s in scopes)
        raise AuthError(
            403,
            f"API key '{key.id}' lacks the {needed} scope needed here "
            f"(it has: {', '.join(key.scopes) or 'none'})",
        )
    if rate is not None:
        retry = await rate.take(key.id, held[0])
        if retry is not None:
            raise too_many(
                retry,
                f"API key '{key.id}' is over its '{held[0]}' rate limit "
                f"({rate.limits[held[0]]} requests per {rate.window_s} s); "
                f"retry in {int(retry)} s",
            )
    return key


def require(*scopes: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency accepting a key that has any one of ``scopes``."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        return await authorize(request, credentials.credentials if credentials else None, scopes)

    return dependency
