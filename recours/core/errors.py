"""Domain errors. Faces turn them into messages, HTTP problems or exit codes."""


class DomainError(Exception):
    """A business rule refused the action; nothing was changed."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidInput(DomainError):
    """Bad input; `fields` maps a field name to its messages ("" for the whole)."""

    code = "invalid_input"
    status = 422

    def __init__(
        self, message: str, *, fields: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message)
        self.fields = fields or {}
