"""Domain errors. They carry their HTTP-ish status; only ``app/`` turns them into responses."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    error = "BadRequest"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404
    error = "NotFound"


class Conflict(DomainError):
    status_code = 409
    error = "Conflict"


class Invalid(DomainError):
    status_code = 422
    error = "ValidationError"


class StoreUnavailable(DomainError):
    """The store could not be reached; the request can be retried."""

    status_code = 503
    error = "StoreUnavailable"
