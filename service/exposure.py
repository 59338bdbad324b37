"""Start-up checks of who can reach the server, and which key lets them in.

A server bound to a loopback address is only reachable from this machine: there the demo
keeps its well-known key ``demo``. On any other address nobody gets in with a key that
was not configured on purpose: the demo without ``WAYPOINT_DEMO_KEY`` gets a random key
(shown once), the well-known key is refused, and a server without any key refuses to start.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from service.settings import DEFAULT_DEMO_KEY, Settings


class UnsafeExposure(Exception):
    """The configuration would open the server to anyone who can reach the address."""


@dataclass(frozen=True)
class Access:
    """What ``waypoint serve`` should do about keys."""

    demo_key: str | None
    """The demo's key to use (None: not a demo)."""
    generated: bool
    """``demo_key`` was generated now: show it once."""
    warnings: tuple[str, ...] = ()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: assume it is reachable


def auth_disabled_warning(host: str) -> str:
    where = "this machine" if is_loopback(host) else f"anyone who can reach {host}"
    return (
        "WAYPOINT_AUTH_DISABLED is set: authentication is OFF, every request is accepted "
        f"with every scope (admin included) from {where}. Use it for tests only."
    )


def check_access(settings: Settings, host: str) -> Access:
    """Decide the demo key and refuse unsafe set-ups (raises :class:`UnsafeExposure`)."""
    loopback = is_loopback(host)
    warnings: list[str] = []
    if settings.auth_disabled:
        warnings.append(auth_disabled_warning(host))
        return Access(
            demo_key=settings.demo_key or DEFAULT_DEMO_KEY if settings.demo else None,
            generated=False,
            warnings=tuple(warnings),
        )
    if settings.demo:
        if loopback:
            return Access(demo_key=settings.demo_key or DEFAULT_DEMO_KEY, generated=False)
        if settings.demo_key == DEFAULT_DEMO_KEY:
            raise UnsafeExposure(
                f"refusing to serve the demo on {host} with the well-known key "
                f"'{DEFAULT_DEMO_KEY}': set WAYPOINT_DEMO_KEY to a secret, or leave it unset "
                "to get a random key"
            )
        if settings.demo_key:
            return Access(demo_key=settings.demo_key, generated=False)
        return Access(demo_key=secrets.token_urlsafe(18), generated=True)
    if not settings.api_keys and not loopback:
        raise UnsafeExposure(
            f"no API key is configured and {host} is not a loopback address: set "
            'WAYPOINT_API_KEYS (JSON: [{"id": "...", "sha256": "<hex of the key>", '
            '"scopes": [...]}]), or opt in to the demo with --demo / WAYPOINT_DEMO=true'
        )
    return Access(demo_key=None, generated=False)
