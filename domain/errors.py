"""Named domain errors. Each context has one base, so the HTTP layer maps whole families at once."""


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""

    code = "domain_error"


class NotFound(DomainError):
    """Raised when a referenced aggregate does not exist (or belongs to another tenant)."""

    code = "not_found"


class Conflict(DomainError):
    """Raised when a command is valid in form but the current state forbids it."""

    code = "conflict"


class InvalidInput(DomainError):
    """Raised when a command's values break a domain rule (unknown policy, empty code, ...)."""

    code = "invalid_input"


class TicketError(Conflict):
    """Base of ticket lifecycle refusals."""

    code = "ticket_conflict"


class IllegalTransition(TicketError):
    """Raised when an action is not allowed from the ticket's current status."""

    code = "illegal_transition"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"cannot {action} a ticket that is {status}")
        self.action = action
        self.status = status


class MoreTimeUsed(TicketError):
    """Raised when a customer asks for more time a second time for the same ticket."""

    code = "more_time_used"


class CallSuperseded(TicketError):
    """Raised when an automatic no-show names a call the ticket has moved past (recalled since)."""

    code = "call_superseded"


class QueueError(Conflict):
    """Base of queue refusals."""

    code = "queue_conflict"


class QueueNotAccepting(QueueError):
    """Raised when a ticket is issued to, or transferred into, a paused or closed queue."""

    code = "queue_not_accepting"


class QueueFull(QueueError):
    """Raised when a ticket is issued to a queue whose waiting line has reached its cap."""

    code = "queue_full"


class AgentError(Conflict):
    """Base of agent refusals."""

    code = "agent_conflict"


class AgentUnavailable(AgentError):
    """Raised when an agent who is paused or offline tries to call a ticket."""

    code = "agent_unavailable"


class AgentBusy(AgentError):
    """Raised when an agent calls next while still holding a called or served ticket."""

    code = "agent_busy"


class TicketNotFound(NotFound):
    """Raised when no ticket has the given id in this tenant."""

    code = "ticket_not_found"


class QueueNotFound(NotFound):
    """Raised when no queue has the given id in this tenant."""

    code = "queue_not_found"


class AgentNotFound(NotFound):
    """Raised when no agent has the given id in this tenant."""

    code = "agent_not_found"


class ResourceNotFound(NotFound):
    """Raised when a site, service, user or tenant does not exist in this tenant."""

    code = "resource_not_found"


class DuplicateResource(Conflict):
    """Raised when a natural key (tenant slug, service code, user email) is already taken."""

    code = "duplicate"


class CustomerNotFound(NotFound):
    """Raised when no customer has the given id in this tenant, or the customer was erased."""

    code = "customer_not_found"


class UserError(Conflict):
    """Base of staff-user refusals (deactivating an inactive user, ...)."""

    code = "user_conflict"


class LastAdmin(UserError):
    """Raised when a change would leave a tenant without an active admin."""

    code = "last_admin"


class NotPermitted(DomainError):
    """Raised when the caller may run the command but not with these values (granting a scope
    they do not hold themselves)."""

    code = "not_permitted"
