"""Sign in, renew, who am I, sign out."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from application.identity import Identity, Principal
from application.tenancy import Tenancy
from application.views import UserView
from interfaces.http.controllers.common import AUTHENTICATED, UseCase, problems
from interfaces.http.schemas import Login, LoginResult, Refresh, Tokens


def client_address(request: Request) -> str | None:
    """The peer address; behind a proxy, uvicorn --forwarded-allow-ips makes it the client."""
    return request.client.host if request.client else None


class AuthController(Controller):
    """Signed access tokens (15 minutes by default) renewed with refresh tokens."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/",
        operation_id="login",
        status_code=200,
        sync_to_thread=True,
        security=[],
        responses=problems(400, 401, 429),
    )
    def login(
        self, identity: UseCase[Identity], request: Request, data: JSONBody[Login]
    ) -> LoginResult:
        """Exchange an email and password for tokens. Attempts are limited per account and per
        client address (429 with Retry-After)."""
        tokens, user = identity.login(data.email, data.password, client_address(request))
        return LoginResult(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
            token=tokens.access_token,
            user=user,
        )

    @post(
        "/refresh",
        operation_id="refreshTokens",
        status_code=200,
        sync_to_thread=True,
        security=[],
        responses=problems(400, 401, 503),
    )
    def refresh(
        self, identity: UseCase[Identity], request: Request, data: JSONBody[Refresh]
    ) -> Tokens:
        """Exchange a refresh token for new tokens; the refresh token sent is spent. Sending a
        spent one again (a replay, or two refreshes racing) is 401 and ends the whole sign-in:
        every token of it is refused, and the user signs in again."""
        tokens = identity.refresh(data.refresh_token)
        return Tokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )

    @get(
        "/me",
        operation_id="getCurrentUser",
        dependencies=AUTHENTICATED,
        sync_to_thread=True,
        security=[{"BearerToken": []}],
        responses=problems(401),
    )
    def me(
        self,
        tenancy: UseCase[Tenancy],
        request: Request,
        principal: NamedDependency[Principal],
    ) -> UserView:
        """The user the token belongs to."""
        return tenancy.get_user(principal.tenant_id, principal.user_id)

    @post(
        "/logout",
        operation_id="logout",
        status_code=204,
        dependencies=AUTHENTICATED,
        sync_to_thread=True,
        security=[{"BearerToken": []}],
        responses=problems(401, 503),
    )
    def logout(
        self,
        identity: UseCase[Identity],
        request: Request,
        principal: NamedDependency[Principal],
    ) -> None:
        """End this sign-in: its access and refresh tokens are refused from now on."""
        identity.logout(principal)
