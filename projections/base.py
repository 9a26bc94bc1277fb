"""What every projection is: a name and a map from event types to small handlers.

A projection is pure: it turns one domain event, at its log position, into changes against a
*view* (a port). The runner in ``infrastructure`` reads the log in batches and commits the view's
changes with the projection's tracking position, so each event has exactly one effect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from eventsourcing.domain import DomainEventProtocol

View = TypeVar("View")
Handler = Callable[[Any, Any, int, Any], None]


class Projection(ABC, Generic[View]):
    """A read model's logic. Subclasses name themselves and map event classes to handlers.

    ``handlers`` maps an event class to ``handler(self, event, position, view)``; an event of a
    subclass finds its base class's handler. Events without a handler are ignored, but the
    runner still advances the position past them.
    """

    name: ClassVar[str]
    handlers: ClassVar[Mapping[type, Handler]] = {}

    def handle(self, event: DomainEventProtocol[Any], position: int, view: View) -> None:
        """Apply one event to ``view``."""
        handler = self.handler_for(type(event))
        if handler is not None:
            handler(self, event, position, view)

    def handler_for(self, event_type: type) -> Handler | None:
        """The handler registered for ``event_type`` or its nearest base class."""
        for cls in event_type.__mro__:
            if cls in self.handlers:
                return self.handlers[cls]
        return self.fallback()

    def fallback(self) -> Handler | None:
        """The handler of events no entry of ``handlers`` matches (none by default)."""
        return None

    @abstractmethod
    def tables(self) -> tuple[str, ...]:
        """The read-model tables this projection owns (what a rebuild replaces)."""
