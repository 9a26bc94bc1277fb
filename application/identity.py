"""Sign-in, tokens and staff accounts. Secrets stay in the credential store, never in events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID, uuid4

from application.app import SmartQueue
from application.context import CommandContext
from application.errors import AuthenticationFailed
from application.ports import Credential, CredentialStore, PasswordHasher, TokenStore
from application.views import UserView
from domain.access import scopes_of
from domain.agents import Agent
from domain.errors import InvalidInput
from domain.tenancy import StaffUser, Tenant

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling, as established from a valid token."""

    user_id: UUID
    tenant_id: UUID
    tenant_slug: str
    role: str
    name: str
    email: str
    token: str

    @property
    def agent_id(self) -> UUID:
        """The agent profile of this user."""
        return Agent.create_id(self.user_id)

    @property
    def scopes(self) -> frozenset[str]:
        """What the user's role allows."""
        return scopes_of(self.role)


def normalise_email(email: str) -> str:
    """Lower-cased, stripped email, or :class:`InvalidInput`."""
    cleaned = email.strip().lower()
    if not EMAIL.match(cleaned) or len(cleaned) > 254:
        raise InvalidInput(f"{email!r} is not a valid email address")
    return cleaned


class Identity:
    """Staff accounts and bearer tokens on top of the SmartQueue application."""

    def __init__(
        self,
        app: SmartQueue,
        credentials: CredentialStore,
        tokens: TokenStore,
        hasher: PasswordHasher,
        token_ttl_seconds: int,
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.tokens = tokens
        self.hasher = hasher
        self.token_ttl_seconds = token_ttl_seconds
        # Verifying against a real hash when the email is unknown makes both failures cost the same.
        self._decoy_hash = hasher.hash(uuid4().hex)

    def create_user(
        self,
        context: CommandContext,
        email: str,
        password: str,
        name: str,
        role: str,
        queue_ids: list[UUID] | None = None,
    ) -> UserView:
        """Create a staff user with a password; the email must be unused on the platform.

        ``queue_ids`` become the agent's queues; they are checked before anything is written,
        so a refusal leaves no half-made user behind.
        """
        email = normalise_email(email)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
        if context.tenant_id is None:
            raise InvalidInput("a user belongs to a tenant")
        if queue_ids:
            self.app.check_agent_queues(context.tenant_id, queue_ids)
        user_id = uuid4()
        self.credentials.add(
            Credential(
                user_id=user_id,
                tenant_id=context.tenant_id,
                email=email,
                password_hash=self.hasher.hash(password),
            )
        )
        try:
            user = self.app.register_user(context, user_id, email, name, role)
        except BaseException:
            self.credentials.remove(user_id)  # no half-made user: the email is free again
            raise
        if queue_ids:
            self.app.assign_agent_queues(context, Agent.create_id(user.id), queue_ids)
        return user

    def login(self, email: str, password: str) -> tuple[str, UserView]:
        """A fresh token and the user, or :class:`AuthenticationFailed`."""
        credential = self.credentials.find_by_email(email.strip().lower())
        if credential is None:
            self.hasher.verify(self._decoy_hash, password)
            raise AuthenticationFailed("invalid email or password")
        if not self.hasher.verify(credential.password_hash, password) or not credential.active:
            raise AuthenticationFailed("invalid email or password")
        if self.hasher.needs_rehash(credential.password_hash):
            self.credentials.replace_hash(credential.user_id, self.hasher.hash(password))
        user = self.app.get_user(credential.tenant_id, credential.user_id)
        token = self.tokens.issue(credential.user_id, credential.tenant_id, self.token_ttl_seconds)
        return token, user

    def authenticate(self, token: str) -> Principal | None:
        """The principal behind a live token of an active user, else ``None``."""
        grant = self.tokens.resolve(token)
        if grant is None:
            return None
        user = self.app.find(StaffUser, grant.user_id)
        tenant = self.app.find(Tenant, grant.tenant_id)
        if user is None or tenant is None or not user.active:
            return None
        return Principal(
            user_id=user.id,
            tenant_id=tenant.id,
            tenant_slug=tenant.slug,
            role=user.role,
            name=user.name,
            email=user.email,
            token=token,
        )

    def logout(self, token: str) -> None:
        """Revoke the token at once."""
        self.tokens.revoke(token)
