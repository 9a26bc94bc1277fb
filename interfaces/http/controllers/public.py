"""The public API: a site's join page data, remote join, and "my ticket" by capability token.

No staff token: every request counts against the client's address, joins also against the
phone given and the queue. A token that is malformed, forged, expired or names nothing answers
``404`` like any missing ticket, never saying which.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from application.identity import Principal
from application.join_codes import JoinCodes, JoinSettings
from application.public_tickets import PublicTickets
from application.public_views import PublicSite, PublicTicket
from domain.errors import InvalidInput
from domain.join_codes import MAX_ATTEMPTS
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.i18n import preferred_language
from interfaces.http.join_qr import qr_svg
from interfaces.http.public_schemas import (
    PublicJoin,
    PublicJoinCodeRequest,
    PublicJoinCodeSent,
    PublicJoined,
    PublicJoinSettingsPut,
    PushRegistration,
)
from interfaces.http.rate_limits import (
    client_address,
    limit_public_code,
    limit_public_join,
    limit_public_request,
)
from interfaces.http.security import command_context, scoped


def public_tickets_of(request: Request) -> PublicTickets:
    """The process's public-tickets context, built once by the composition root."""
    public = request.app.state.use_cases["public"]
    if public is None:
        raise RuntimeError("the process was built without the public tickets context")
    return public


def provide_public_tickets(request: Request) -> PublicTickets:
    """The public-tickets context, once the request was counted against its client's address
    (every public request is)."""
    limit_public_request(request)
    return public_tickets_of(request)


PUBLIC = {"public": Provide(provide_public_tickets, sync_to_thread=False)}
TICKET_ERRORS = problems(400, 404, 409, 429, 503)


class PublicSiteController(Controller):
    """A site's join page: its open services, and joining one."""

    path = "/api/v1/public/{slug:str}/sites/{site_id:uuid}"
    tags = ["public"]
    dependencies = PUBLIC

    @get(
        "/",
        operation_id="getPublicSite",
        sync_to_thread=True,
        responses=problems(400, 404, 429, 503),
    )
    def get_site(
        self, public: NamedDependency[PublicTickets], slug: FromPath[str], site_id: FromPath[UUID]
    ) -> PublicSite:
        """The site's name, whether it is open now, the services that have an open queue, and
        the languages of the pages."""
        return public.get_site(slug, site_id)

    @post(
        "/join",
        operation_id="joinPublicQueue",
        status_code=201,
        sync_to_thread=True,
        responses=problems(400, 403, 404, 409, 422, 429, 503),
    )
    def join(
        self,
        request: Request,
        public: NamedDependency[PublicTickets],
        slug: FromPath[str],
        site_id: FromPath[UUID],
        data: JSONBody[PublicJoin],
    ) -> PublicJoined:
        """Take a ticket for a service of an open site: its number, position and ETA, and the
        capability token of its "my ticket" page (``url``). A closed site answers 409
        ``site_closed``, a full queue 409 ``queue_full``, a bad phone 422; too many joins from
        one address or with one phone 429. Where the tenant requires a one-time code, a join
        without phone or code is 422 ``join_code_required``, a wrong, expired or used code 403
        ``join_code_invalid`` (the detail says how many guesses are left), and after five
        wrong ones 429 ``join_code_locked`` until a new code is sent."""
        contact = public.check_contact(data.name, data.phone, data.language)
        queue = public.queue_for(*public.tenant_site(slug, site_id), data.service_id)
        limit_public_join(request, contact.phone, queue.id)
        joined = public.join(
            slug,
            site_id,
            data.service_id,
            contact,
            client_ip=client_address(request),
            code=data.code,
        )
        return PublicJoined.of(joined)

    @post(
        "/join/code",
        operation_id="sendPublicJoinCode",
        status_code=202,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 422, 429, 503),
    )
    def send_join_code(
        self,
        request: Request,
        public: NamedDependency[PublicTickets],
        slug: FromPath[str],
        site_id: FromPath[UUID],
        data: JSONBody[PublicJoinCodeRequest],
    ) -> PublicJoinCodeSent:
        """Send a six-digit code by SMS to ``phone`` (in ``language``, else the request's
        ``Accept-Language``), to give with the join
        where the site's tenant requires one; a new code replaces the previous one. 409
        ``join_code_off`` where none is needed, 409 ``site_closed`` outside opening hours, 422
        a bad phone, 429 too many codes from one address or to one phone."""
        language = data.language or preferred_language(request.headers.get("accept-language"))
        contact = public.check_contact(None, data.phone, language)
        if contact.phone is None:
            raise InvalidInput("phone: a phone number is needed to send a code to")
        public.tenant_site(slug, site_id)  # 404 before anything is counted
        limit_public_code(request, contact.phone)
        seconds = public.send_join_code(slug, site_id, contact)
        return PublicJoinCodeSent(expires_in_seconds=seconds, attempts=MAX_ATTEMPTS)


class PublicTicketController(Controller):
    """A customer's own ticket, reached by its capability token only."""

    path = "/api/v1/public/tickets/{token:str}"
    tags = ["public"]
    dependencies = PUBLIC

    @get("/", operation_id="getPublicTicket", sync_to_thread=True, responses=TICKET_ERRORS)
    def get_ticket(
        self, public: NamedDependency[PublicTickets], token: FromPath[str]
    ) -> PublicTicket:
        """The ticket's number, status, position and ETA when waiting, the counter when called,
        its queue's name and waiting count, and whether more time was used. No personal data."""
        return public.get_ticket(token)

    @post(
        "/cancel",
        operation_id="cancelPublicTicket",
        status_code=200,
        sync_to_thread=True,
        responses=TICKET_ERRORS,
    )
    def cancel(
        self, request: Request, public: NamedDependency[PublicTickets], token: FromPath[str]
    ) -> PublicTicket:
        """Withdraw the waiting ticket (409 once it was called or is finished)."""
        return public.cancel(token, client_ip=client_address(request))

    @post(
        "/more-time",
        operation_id="takeMoreTime",
        status_code=200,
        sync_to_thread=True,
        responses=TICKET_ERRORS,
    )
    def more_time(
        self, request: Request, public: NamedDependency[PublicTickets], token: FromPath[str]
    ) -> PublicTicket:
        """Move the waiting ticket back a few places (``more_time_places``), once per ticket
        (409 ``more_time_used`` the second time, 409 when not waiting)."""
        return public.take_more_time(token, client_ip=client_address(request))

    @put(
        "/push",
        operation_id="registerPublicTicketPush",
        status_code=204,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 422, 429, 503),
    )
    def register_push(
        self,
        request: Request,
        public: NamedDependency[PublicTickets],
        token: FromPath[str],
        data: JSONBody[PushRegistration],
    ) -> None:
        """The customer's app registers its FCM device token for pushes about this ticket: the
        token is kept with the ticket's customer (who then has the ``push`` channel) and erased
        with them; nothing of it is answered. 409 ``no_customer`` for a ticket taken without a
        name or phone; 422 for a token that is not one."""
        public.register_push(token, data.device_token, client_ip=client_address(request))

    @delete(
        "/push",
        operation_id="withdrawPublicTicketPush",
        status_code=204,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 429, 503),
    )
    def withdraw_push(
        self, request: Request, public: NamedDependency[PublicTickets], token: FromPath[str]
    ) -> None:
        """No more pushes: the customer's device token is forgotten and ``push`` unchosen."""
        public.register_push(token, None, client_ip=client_address(request))


class JoinQrController(Controller):
    """The printable QR code of a site's join page (staff)."""

    path = f"{TENANT_PATH}/sites/{{site_id:uuid}}/join-qr.svg"
    tags = ["sites"]
    dependencies = {
        **TENANT_SCOPED,
        "public": Provide(public_tickets_of, sync_to_thread=False),
    }

    @get(
        "/",
        operation_id="getJoinQrCode",
        sync_to_thread=True,
        media_type="image/svg+xml",
        responses=problems(401, 403, 404, 503),
        **scoped("sites:read"),
    )
    def join_qr(
        self,
        request: Request,
        member: NamedDependency[Principal],
        public: NamedDependency[PublicTickets],
        public_base_url: UseCase[str],
        slug: FromPath[str],
        site_id: FromPath[UUID],
    ) -> Response[bytes]:
        """An SVG QR code of the site's public join page (``/join/{slug}/{site_id}``), at
        ``SMARTQUEUE_PUBLIC_BASE_URL`` or, when unset, the address this request came to."""
        public.tenant_site(slug, site_id)  # 404 for a site of another tenant
        base = public_base_url or str(request.base_url)
        url = f"{base.rstrip('/')}/join/{slug}/{site_id}"
        return Response(
            qr_svg(url),
            media_type="image/svg+xml",
            headers={"Cache-Control": "no-cache", "X-Join-Url": url},
        )


class PublicJoinSettingsController(Controller):
    """The tenant's remote-join settings: whether joins need a one-time SMS code."""

    path = f"{TENANT_PATH}/public-join-settings"
    tags = ["public"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="getPublicJoinSettings",
        sync_to_thread=True,
        responses=problems(401, 403, 404, 503),
        **scoped("sites:read"),
    )
    def get_settings(
        self, join_codes: UseCase[JoinCodes], member: NamedDependency[Principal]
    ) -> JoinSettings:
        """``join_code``: ``off`` (the default) or ``sms``."""
        return join_codes.get_settings(member.tenant_id)

    @put(
        "/",
        operation_id="putPublicJoinSettings",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("sites:manage"),
    )
    def put_settings(
        self,
        join_codes: UseCase[JoinCodes],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[PublicJoinSettingsPut],
    ) -> JoinSettings:
        """Replace the settings. ``join_code`` ``sms``: a remote join needs the code sent by
        SMS to the customer's phone (``POST /public/{slug}/sites/{id}/join/code/``)."""
        return join_codes.put_settings(command_context(request, member), data.join_code)
