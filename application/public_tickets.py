"""The customer's side, with no staff token: a site's join page and "my ticket".

A customer joins a site's open service and gets a ticket and a capability token (a
:class:`~application.ports.TicketPass`): the link ``/t/{token}`` is all they hold. Everything
they see through it is about that one ticket and its queue, with no personal data; a token that
is malformed, forged, expired or names a ticket of nobody reads exactly like a missing ticket.

Tickets are issued and withdrawn by the queueing commands; this context only adds who may ask.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from application.app import SmartQueue
from application.base import utc_now
from application.context import CommandContext
from application.join_codes import JoinCodes
from application.paging import PageRequest
from application.ports import TicketPass, TicketPasses
from application.public_views import (
    TICKET_LINK,
    Contact,
    Followed,
    Joined,
    PublicContexts,
    PublicService,
    PublicSite,
    PublicTicket,
    check_open,
    end_of_local_day,
    is_open,
    opens_at,
)
from application.ticket_queries import TicketQueries
from application.views import QueueView, SiteView, TicketView
from domain.contact import check_customer_name, normalise_phone
from domain.customers import LANGUAGES
from domain.errors import (
    Conflict,
    CustomerNotFound,
    InvalidInput,
    ResourceNotFound,
    TicketNotFound,
)
from domain.join_codes import JoinCodeMode, JoinCodeOff
from domain.queues import QueueStatus
from domain.tenancy import SiteClosed, Tenant
from domain.tickets import Ticket, TicketStatus

PUBLIC_ROLE = "customer"
PUBLIC_CHANNEL = "web"
NAMELESS_CUSTOMER = "Web customer"
"""The profile name of a customer who gave only a phone number (profiles need a name)."""
PAGE_SIZE = 200


class NoCustomer(Conflict):
    """Raised when a ticket with no customer (taken without a name or phone, or whose customer
    was erased) is asked for pushes: there is nobody to keep the device token for."""

    code = "no_customer"


class PublicTickets:
    """Remote join and "my ticket", over the SmartQueue unit of work."""

    def __init__(
        self,
        store: SmartQueue,
        contexts: PublicContexts,
        ticket_queries: TicketQueries,
        passes: TicketPasses,
        more_time_places: int = 3,
        max_waiting: int | None = None,
        clock: Callable[[], datetime] = utc_now,
        join_codes: JoinCodes | None = None,
    ) -> None:
        self.store = store
        self.catalogue = contexts.catalogue
        self.queues = contexts.queues
        self.tickets = contexts.tickets
        self.customers = contexts.customers
        self.ticket_queries = ticket_queries
        self.passes = passes
        self.more_time_places = more_time_places
        self.max_waiting = max_waiting
        self.clock = clock
        self.join_codes = join_codes
        """The tenants' one-time join codes; ``None``: no tenant requires one."""

    # -- the join page ----------------------------------------------------------------------------

    def get_site(self, slug: str, site_id: UUID) -> PublicSite:
        """A site's name, whether it is open now, the services customers may join, languages."""
        tenant_id, site = self._site(slug, site_id)
        queues = self._open_queues(tenant_id, site_id)
        services: dict[UUID, PublicService] = {}
        for queue in queues:
            for service_id in queue.service_ids:
                if service_id not in services:
                    service = self.catalogue.get_service(tenant_id, service_id)
                    services[service_id] = PublicService(id=service.id, name=service.name)
        now = self.clock()
        return PublicSite(
            id=site.id,
            name=site.name,
            open=is_open(site, now),
            opens_at=opens_at(site, now),
            services=sorted(services.values(), key=lambda service: service.name),
            languages=list(LANGUAGES),
            join_code=self._join_code_mode(tenant_id),
        )

    @staticmethod
    def check_contact(name: str | None, phone: str | None, language: str | None = None) -> Contact:
        """Validate what a joining customer gave (``InvalidInput`` names the problem)."""
        language = language or "en"
        if language not in LANGUAGES:
            raise InvalidInput(f"unknown language {language!r}; expected one of fr, en")
        return Contact(
            name=check_customer_name(name) if name is not None and name.strip() else None,
            phone=normalise_phone(phone) if phone is not None and phone.strip() else None,
            language=language,
        )

    def join(
        self,
        slug: str,
        site_id: UUID,
        service_id: UUID,
        contact: Contact,
        client_ip: str | None = None,
        code: str | None = None,
    ) -> Joined:
        """Take a ticket for ``service_id`` at an open site, in its open queue with the fewest
        waiting; a customer profile is registered only when a name or phone is given. Where
        the tenant requires a one-time code, ``code`` must be the one sent to the phone: it is
        used up before anything is written."""
        tenant_id, site = self._site(slug, site_id)
        check_open(site, self.clock())  # before any profile is made (issuing checks it too)
        queue = self.queue_for(tenant_id, site_id, service_id)
        if self.join_codes is not None:
            self.join_codes.redeem(tenant_id, contact.phone, code)
        context = self._context(tenant_id, client_ip)
        customer_id = None
        if contact.name is not None or contact.phone is not None:
            customer_id = self.customers.register_customer(
                context,
                name=contact.name or NAMELESS_CUSTOMER,
                phone=contact.phone,
                channels=["sms"] if contact.phone else [],
                language=contact.language,
            ).id
        ticket = self.tickets.issue_ticket(
            context,
            queue.id,
            service_id=service_id,
            customer_id=customer_id,
            channel=PUBLIC_CHANNEL,
            max_waiting=self.max_waiting,
        )
        expires_at = end_of_local_day(ticket.issued_at, site.timezone)
        token = self.passes.issue(TicketPass(tenant_id, ticket.id, expires_at))
        return Joined(self.ticket_queries.with_eta(tenant_id, ticket), token)

    def send_join_code(self, slug: str, site_id: UUID, contact: Contact) -> int:
        """Send a one-time code to the contact's phone for a join at an open site whose tenant
        requires one (:class:`JoinCodeOff` otherwise), in the contact's language; the seconds
        it is good for."""
        tenant_id, site = self._site(slug, site_id)
        if self.join_codes is None:
            raise JoinCodeOff("this site's remote joins need no code")
        if contact.phone is None:
            raise InvalidInput("phone: a phone number is needed to send a code to")
        if not is_open(site, self.clock()):
            raise SiteClosed(f"{site.name} is closed now; come back during its opening hours")
        return self.join_codes.send_code(tenant_id, contact.phone, contact.language, site.name)

    def link_for(self, tenant_id: UUID, ticket: TicketView, timezone: str) -> str:
        """The "my ticket" page of ``ticket`` (a path: ``/t/{token}``), valid until the end of
        its day where its site is: the link the notifications carry."""
        expires_at = end_of_local_day(ticket.issued_at, timezone)
        return TICKET_LINK.format(
            token=self.passes.issue(TicketPass(tenant_id, ticket.id, expires_at))
        )

    def queue_for(self, tenant_id: UUID, site_id: UUID, service_id: UUID) -> QueueView:
        """The site's open queue serving ``service_id`` with the fewest tickets waiting."""
        serving = [q for q in self._open_queues(tenant_id, site_id) if service_id in q.service_ids]
        if not serving:
            raise ResourceNotFound(f"no open queue serves {service_id} at this site")
        return min(serving, key=lambda queue: queue.waiting)

    # -- "my ticket" ------------------------------------------------------------------------------

    def get_ticket(self, token: str) -> PublicTicket:
        """The ticket ``token`` proves, with its position and ETA when waiting."""
        ticket_pass = self._pass(token)
        return self._public(ticket_pass, self.tickets.get_ticket(*_ids(ticket_pass)))

    def follow(self, token: str) -> Followed:
        """The ticket ``token`` proves and the queue whose changes may move it."""
        ticket_pass = self._pass(token)
        view = self.tickets.get_ticket(*_ids(ticket_pass))
        return Followed(self._public(ticket_pass, view), ticket_pass.tenant_id, view.queue_id)

    def cancel(self, token: str, client_ip: str | None = None) -> PublicTicket:
        """The customer withdraws their waiting ticket (a called one is the agent's to close)."""
        ticket_pass = self._pass(token)
        context = self._context(ticket_pass.tenant_id, client_ip)
        ticket = self.tickets.cancel_ticket(
            context, ticket_pass.ticket_id, "customer", only_waiting=True
        )
        return self._public(ticket_pass, ticket)

    def take_more_time(self, token: str, client_ip: str | None = None) -> PublicTicket:
        """Move the waiting ticket back ``more_time_places`` places, once."""
        ticket_pass = self._pass(token)
        context = self._context(ticket_pass.tenant_id, client_ip)
        ticket = self.tickets.give_more_time(context, ticket_pass.ticket_id, self.more_time_places)
        return self._public(ticket_pass, ticket)

    def register_push(
        self, token: str, device_token: str | None, client_ip: str | None = None
    ) -> None:
        """The customer's app asks for pushes about the ticket ``token`` proves, on the device
        of ``device_token`` (``None``: no more pushes). The device token is personal data: it
        is kept with the ticket's customer (their push channel chosen with it), erased with
        them, and never shown back here."""
        ticket_pass = self._pass(token)
        ticket = self.tickets.get_ticket(*_ids(ticket_pass))
        if ticket.customer_id is None:
            raise NoCustomer("this ticket was taken without a name or phone: join with one")
        context = self._context(ticket_pass.tenant_id, client_ip)
        try:
            self.customers.set_push_token(context, ticket.customer_id, device_token)
        except CustomerNotFound:
            raise NoCustomer("this ticket's customer was erased") from None

    # -- helpers ----------------------------------------------------------------------------------

    def _pass(self, token: str) -> TicketPass:
        ticket_pass = self.passes.verify(token)
        if ticket_pass is None:
            raise TicketNotFound("no such ticket")
        return ticket_pass

    def _public(self, ticket_pass: TicketPass, ticket: TicketView) -> PublicTicket:
        tenant_id = ticket_pass.tenant_id
        ticket = self.ticket_queries.with_eta(tenant_id, ticket)
        queue = self.queues.get_queue(tenant_id, ticket.queue_id)
        aggregate = self.store.load(Ticket, ticket.id, tenant_id, TicketNotFound)
        shows_counter = ticket.status in (TicketStatus.CALLED, TicketStatus.SERVING)
        return PublicTicket(
            number=ticket.number,
            status=ticket.status,
            position=ticket.position,
            eta_seconds=ticket.eta_seconds,
            counter=ticket.counter if shows_counter else None,
            queue_name=queue.name,
            waiting=queue.waiting,
            more_time_used=bool(getattr(aggregate, "more_time_used", False)),
            more_time_places=self.more_time_places,
        )

    def _join_code_mode(self, tenant_id: UUID) -> str:
        if self.join_codes is None:
            return JoinCodeMode.OFF.value
        return self.join_codes.get_settings(tenant_id).join_code

    def tenant_site(self, slug: str, site_id: UUID) -> tuple[UUID, UUID]:
        """The tenant and site ids of a join page's path (``ResourceNotFound`` for a site not
        of that tenant)."""
        tenant_id, site = self._site(slug, site_id)
        return tenant_id, site.id

    def _site(self, slug: str, site_id: UUID) -> tuple[UUID, SiteView]:
        tenant_id = Tenant.create_id(slug)
        try:
            site = self.catalogue.get_site(tenant_id, site_id)
        except ResourceNotFound:
            raise ResourceNotFound(f"no site {site_id} at {slug!r}") from None
        return tenant_id, site

    def _open_queues(self, tenant_id: UUID, site_id: UUID) -> list[QueueView]:
        found: list[QueueView] = []
        cursor = None
        while True:
            page = self.queues.list_queues(
                tenant_id, PageRequest(limit=PAGE_SIZE, cursor=cursor), site_id=site_id
            )
            found.extend(queue for queue in page.items if queue.status == QueueStatus.OPEN)
            cursor = page.next_cursor
            if cursor is None:
                return found

    @staticmethod
    def _context(tenant_id: UUID, client_ip: str | None) -> CommandContext:
        return CommandContext(tenant_id=tenant_id, actor_role=PUBLIC_ROLE, client_ip=client_ip)


def _ids(ticket_pass: TicketPass) -> tuple[UUID, UUID]:
    return ticket_pass.tenant_id, ticket_pass.ticket_id
