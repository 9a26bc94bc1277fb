"""Sign-in, tokens and staff accounts. Secrets stay in the credential store, never in events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

import msgspec

from application.app import SmartQueue
from application.context import CommandContext
from application.errors import AuthenticationFailed, EmailTaken
from application.ports import (
    Claims,
    Credential,
    CredentialStore,
    TokenPair,
    TokenService,
    TokenSubject,
)
from application.sign_in import SecretSignIn
from application.staffing import Staffing
from application.tenancy import Tenancy
from application.views import UserView
from domain.access import scopes_of
from domain.agents import Agent
from domain.errors import InvalidInput
from domain.platform import PLATFORM_ID
from domain.tenancy import Role, StaffUser, UserAlreadyActive, UserAlreadyDeactivated

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class Principal:
    """Who is calling, as established from a verified access token."""

    user_id: UUID
    tenant_id: UUID
    role: str
    scopes: frozenset[str]
    token_id: str
    session_id: str
    expires_at: datetime
    site_id: UUID | None = None
    """A device's site; its token reaches that site's resources only. ``None`` for staff."""

    @classmethod
    def from_claims(cls, claims: Claims) -> Principal:
        """The principal a verified token speaks for."""
        return cls(
            user_id=claims.user_id,
            tenant_id=claims.tenant_id,
            role=claims.role,
            scopes=claims.scopes,
            token_id=claims.token_id,
            session_id=claims.session_id,
            expires_at=claims.expires_at,
            site_id=claims.site_id,
        )

    @property
    def agent_id(self) -> UUID:
        """The agent profile of this user."""
        return Agent.create_id(self.user_id)


def normalise_email(email: str) -> str:
    """Lower-cased, stripped email, or :class:`InvalidInput`."""
    cleaned = email.strip().lower()
    if not EMAIL.match(cleaned) or len(cleaned) > 254:
        raise InvalidInput(f"{email!r} is not a valid email address")
    return cleaned


def check_password(password: str) -> str:
    """The password if it is long enough, else :class:`InvalidInput`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


class Identity:
    """Staff accounts, sign-in and tokens. Users themselves are tenancy's (``Tenancy``); the
    secrets that let them sign in are kept here, in the credential store, never in events."""

    def __init__(
        self,
        store: SmartQueue,
        tenancy: Tenancy,
        staffing: Staffing,
        credentials: CredentialStore,
        tokens: TokenService,
        sign_in: SecretSignIn,
    ) -> None:
        self.store = store
        self.tenancy = tenancy
        self.staffing = staffing
        self.credentials = credentials
        self.tokens = tokens
        self.secret_check = sign_in
        self.hasher = sign_in.hasher

    # -- accounts ---------------------------------------------------------------------------------

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

        ``queue_ids`` become the agent's queues; they, and the caller's right to grant the role,
        are checked before anything is written, so a refusal leaves no half-made user behind
        and the email free.
        """
        email = normalise_email(email)
        check_password(password)
        if context.tenant_id is None:
            raise InvalidInput("a user belongs to a tenant")
        context.check_can_grant(scopes_of(Role.parse(role).value))
        if queue_ids:
            self.staffing.check_agent_queues(context.tenant_id, queue_ids)
        user_id = self._reserve(context.tenant_id, email, password)
        try:
            user = self.tenancy.register_user(context, user_id, email, name, role)
        except BaseException:
            self.credentials.remove(context.tenant_id, user_id)  # no half-made user: email free
            raise
        if queue_ids:
            self.staffing.assign_agent_queues(context, Agent.create_id(user.id), queue_ids)
        return user

    def create_platform_admin(self, email: str, password: str, name: str) -> UserView:
        """A platform administrator: manages tenants, sees nothing inside them."""
        email = normalise_email(email)
        check_password(password)
        user_id = self._reserve(PLATFORM_ID, email, password)
        try:
            return self.tenancy.register_platform_admin(
                CommandContext.system(PLATFORM_ID), user_id, email, name
            )
        except BaseException:
            self.credentials.remove(PLATFORM_ID, user_id)
            raise

    def create_tenant(
        self,
        context: CommandContext,
        slug: str,
        name: str,
        admin_email: str,
        admin_password: str,
    ) -> tuple[UUID, UserView]:
        """A tenant and its first administrator. The admin's email and password are checked, and
        the email reserved, before the tenant exists, so a refusal leaves no tenant without admin.
        """
        email = normalise_email(admin_email)
        check_password(admin_password)
        if self.credentials.find_by_email(email) is not None:
            raise EmailTaken
        tenant_id = self.tenancy.create_tenant(context, slug, name)
        # The first admin is the system's doing: the platform administrator who asked holds no
        # rights inside tenants, so the rule on granting does not apply to this one user.
        admin_context = msgspec.structs.replace(context, tenant_id=tenant_id, actor_scopes=None)
        admin = self.create_user(admin_context, email, admin_password, "Administrator", "admin")
        return tenant_id, admin

    def _reserve(self, tenant_id: UUID, email: str, password: str) -> UUID:
        user_id = uuid4()
        self.credentials.add(
            Credential(
                user_id=user_id,
                tenant_id=tenant_id,
                email=email,
                password_hash=self.hasher.hash(password),
            )
        )
        return user_id

    # -- sign-in ----------------------------------------------------------------------------------

    def login(
        self, email: str, password: str, client_address: str | None = None
    ) -> tuple[TokenPair, UserView]:
        """Fresh tokens and the user, or :class:`AuthenticationFailed`.

        Attempts are counted before the password is checked, so guessing costs the guesser.
        """
        refused = AuthenticationFailed("invalid email or password")
        credential = self.secret_check.admit(
            email, client_address, password, lambda: self._find_credential(email), refused
        )
        if self.hasher.needs_rehash(credential.password_hash):
            self.credentials.replace_hash(
                credential.tenant_id, credential.user_id, self.hasher.hash(password)
            )
        user = self.store.find(StaffUser, credential.user_id)
        if user is None or not user.active or user.tenant_id != credential.tenant_id:
            raise refused
        return self.tokens.issue(_subject(user)), self.tenancy.get_user(user.tenant_id, user.id)

    def _find_credential(self, email: str) -> Credential | None:
        try:
            return self.credentials.find_by_email(normalise_email(email))
        except InvalidInput:
            return None  # no account can have that address

    def refresh(self, refresh_token: str) -> TokenPair:
        """New tokens for the same sign-in session; the refresh token used is spent.

        Spending is atomic, so of two refreshes with one token exactly one succeeds, and reusing
        a spent token revokes the whole session. The user is read again, so a changed role or
        deactivation applies at once.
        """
        claims = self.tokens.spend_refresh(refresh_token)
        if claims is None:
            raise AuthenticationFailed("the refresh token is invalid, expired or revoked")
        user = self.store.find(StaffUser, claims.user_id)
        if user is None or not user.active or user.tenant_id != claims.tenant_id:
            self.tokens.revoke_session(claims.session_id)
            raise AuthenticationFailed("the refresh token is invalid, expired or revoked")
        return self.tokens.issue(_subject(user), session_id=claims.session_id)

    def authenticate(self, token: str) -> Principal | None:
        """The principal behind a valid, unrevoked access token, else ``None``."""
        claims = self.tokens.verify_access(token)
        return Principal.from_claims(claims) if claims is not None else None

    def logout(self, principal: Principal) -> None:
        """End the sign-in session: its access and refresh tokens are refused at once."""
        self.tokens.revoke_session(principal.session_id)

    # -- changing rights: every token issued before the change is revoked at once ----------------

    # The event is saved first and the denylist written after; if Redis fails in between the
    # client gets 503, and the same command sent again must finish the revocation. So every
    # command below re-applies its token writes even when the stored state says it is done.

    def change_user(
        self,
        context: CommandContext,
        user_id: UUID,
        *,
        name: str | None = None,
        role: str | None = None,
        scopes: list[str] | None = None,
    ) -> UserView:
        """Rename a user or change their rights. A request naming a role or scopes revokes the
        user's tokens, even when they were already so (a retry), so the next request needs a
        sign-in; a rename alone keeps them."""
        after = self.tenancy.change_user(context, user_id, name=name, role=role, scopes=scopes)
        if role is not None or scopes is not None:
            self.tokens.revoke_user(user_id)
        return after

    def deactivate_user(self, context: CommandContext, user_id: UUID) -> UserView:
        """The user can no longer sign in, and every token they hold is refused at once.

        Deactivating a deactivated user still answers ``UserAlreadyDeactivated`` (409), after
        revoking their tokens again: a retry after a failure completes the revocation.
        """
        try:
            user = self.tenancy.deactivate_user(context, user_id)
        except UserAlreadyDeactivated:
            self.revoke_user_tokens(user_id, active=False, tenant_id=context.tenant_id)  # type: ignore[arg-type]
            raise
        self.revoke_user_tokens(user_id, active=False, tenant_id=user.tenant_id)
        return user

    def reactivate_user(self, context: CommandContext, user_id: UUID) -> UserView:
        """The user may sign in again (re-applied when already active, then 409)."""
        try:
            user = self.tenancy.reactivate_user(context, user_id)
        except UserAlreadyActive:
            self.credentials.set_active(context.tenant_id, user_id, True)  # type: ignore[arg-type]
            raise
        self.credentials.set_active(user.tenant_id, user_id, True)
        return user

    def revoke_user_tokens(self, user_id: UUID, active: bool, *, tenant_id: UUID) -> None:
        """After deactivation or a change of rights: every token issued so far is refused, and
        sign-in follows ``active``."""
        self.credentials.set_active(tenant_id, user_id, active)
        self.tokens.revoke_user(user_id)


def _subject(user: StaffUser) -> TokenSubject:
    return TokenSubject(
        user_id=user.id,
        tenant_id=user.tenant_id,
        role=user.role,
        scopes=user.all_scopes,
    )
