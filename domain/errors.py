"""Domain errors, one hierarchy. They carry their HTTP-ish status; only ``app/`` turns them
into responses."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    #: the name answers give the error (``{"error": ...}``): a subclass's own class name
    #: unless it sets one
    error = "BadRequest"

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "error" not in vars(cls):
            cls.error = cls.__name__

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422
    error = "ValidationError"


class StoreUnavailable(DomainError):
    """The store could not be reached; the request can be retried."""

    status_code = 503


class ExperimentError(DomainError):
    """An experiment rule was broken.

    ``status_code`` follows HTTP semantics: 409 = conflicts with the current state (illegal
    transition, unsafe edit, namespace full), 422 = the request itself is invalid,
    404 = unknown experiment.
    """

    _ERRORS = {404: "NotFound", 409: "Conflict", 422: "ValidationError"}

    def __init__(self, detail: str, status_code: int = 409) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.error = self._ERRORS.get(status_code, "BadRequest")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, detail={self.detail!r})"
