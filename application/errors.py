"""Errors the application adds on top of the domain's."""

from domain.errors import Conflict, DomainError


class Contention(Conflict):
    """Raised when a command kept losing optimistic-concurrency races and gave up."""

    code = "contention"


class AuthenticationFailed(DomainError):
    """Raised when an email and password do not match an active user."""

    code = "authentication_failed"
