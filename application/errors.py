"""Errors the application adds on top of the domain's."""

from domain.errors import Conflict, DomainError, DuplicateResource


class Contention(Conflict):
    """Raised when a command kept losing optimistic-concurrency races and gave up."""

    code = "contention"


class AuthenticationFailed(DomainError):
    """Raised when an email and password do not match an active user."""

    code = "authentication_failed"


class TooManyAttempts(DomainError):
    """Raised when an account or a client address made too many sign-in attempts."""

    code = "too_many_attempts"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = max(1, retry_after_seconds)


class Unavailable(DomainError):
    """Raised when a service the command needs (Redis, the database) cannot be reached."""

    code = "unavailable"


class EmailTaken(DuplicateResource):
    """Raised when a staff account's email is already used by any account on the platform.

    The message is the same wherever the address is used (this tenant, another, the platform's
    operators) and never repeats it, so a 409 cannot tell one tenant about another's staff.
    """

    def __init__(self) -> None:
        super().__init__("this email address cannot be used for a new account; choose another")
