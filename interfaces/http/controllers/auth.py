"""Sign in, who am I, sign out."""

from __future__ import annotations

from litestar import Controller, Request, get, post

from application.identity import Principal
from application.views import UserView
from interfaces.http.controllers.common import AUTHENTICATED, problems
from interfaces.http.schemas import Login, LoginResult
from interfaces.http.security import container_of


class AuthController(Controller):
    """Bearer tokens for staff users."""

    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/",
        operation_id="login",
        status_code=200,
        sync_to_thread=True,
        security=[],
        responses=problems(400, 401),
    )
    def login(self, request: Request, data: Login) -> LoginResult:
        """Exchange an email and password for a bearer token."""
        token, user = container_of(request).identity.login(data.email, data.password)
        return LoginResult(token=token, user=user)

    @get(
        "/me",
        operation_id="getCurrentUser",
        dependencies=AUTHENTICATED,
        sync_to_thread=True,
        responses=problems(401),
    )
    def me(self, request: Request, principal: Principal) -> UserView:
        """The user the token belongs to."""
        return container_of(request).app.get_user(principal.tenant_id, principal.user_id)

    @post(
        "/logout",
        operation_id="logout",
        status_code=204,
        dependencies=AUTHENTICATED,
        sync_to_thread=True,
        responses=problems(401),
    )
    def logout(self, request: Request, principal: Principal) -> None:
        """Revoke the token used for this request; it is refused from now on."""
        container_of(request).identity.logout(principal.token)
