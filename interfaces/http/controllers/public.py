"""The public API: a site's join page data, remote join, and "my ticket" by capability token.

No staff token: every request counts against the client's address, joins also against the
phone given and the queue. A token that is malformed, forged, expired or names nothing answers
``404`` like any missing ticket, never saying which.
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from application.identity import Principal
from application.public_tickets import PublicTickets
from application.public_views import PublicSite, PublicTicket
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.join_qr import qr_svg
from interfaces.http.public_schemas import PublicJoin, PublicJoined
from interfaces.http.rate_limits import client_address, limit_public_join, limit_public_request
from interfaces.http.security import scoped


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
        responses=problems(400, 404, 409, 422, 429, 503),
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
        one address or with one phone 429."""
        contact = public.check_contact(data.name, data.phone, data.language)
        queue = public.queue_for(*public.tenant_site(slug, site_id), data.service_id)
        limit_public_join(request, contact.phone, queue.id)
        joined = public.join(
            slug, site_id, data.service_id, contact, client_ip=client_address(request)
        )
        return PublicJoined.of(joined)


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
