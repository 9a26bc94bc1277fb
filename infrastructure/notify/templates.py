"""Tenant message templates rendered by Jinja2's sandbox, checked when they are saved.

Tenants write ``{number}``; ``{{ number }}`` means the same, and ``{% if counter %}...{% endif %}``
(with ``{% else %}``/``{% elif %}``) and the filters in :data:`FILTERS` are allowed too. A
template is parsed and its tree walked before it is used: only output, literal text, variable
names the message kind offers, conditions on them and those filters pass. Attribute and item
access, calls, loops, assignments, arithmetic, includes and macros are refused with the line
they are on, so user text can never reach an object's attributes, and the sandbox with no
globals stands behind the check. Values are plain strings and numbers, never objects, and are
HTML-escaped in the HTML part only. ``str.format`` never sees a tenant's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from jinja2 import Template, TemplateError, Undefined, nodes
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from jinja2.sandbox import ImmutableSandboxedEnvironment

from application.notification_templates import SmsCount, TemplatePreview
from domain.messages import (
    APPOINTMENT_KINDS,
    KIND_VARIABLES,
    Channel,
    MessageKind,
    TemplateParts,
    TemplateSyntaxInvalid,
    check_template_parts,
    check_template_variables,
)
from domain.sms import SmsLength, sms_length
from infrastructure.notify.builtin_templates import builtin_template

FILTERS = ("upper", "lower", "capitalize", "title", "trim", "default")
TESTS = ("defined", "undefined", "none")
ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Filter,
    nodes.Test,
)
# {number} or { number }, but not the inner braces of {{ number }}.
SHORTHAND = re.compile(r"(?<!\{)\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}(?!\})")

SAMPLE_VALUES: dict[str, dict[str, object]] = {
    "fr": {
        "number": "A-012",
        "position": 3,
        "eta_minutes": 12,
        "counter": "3",
        "queue": "Accueil",
        "site": "Mairie du centre",
        "link": "https://smartqueue.example/t/exemple",
        "message": "Merci de vous munir d'une pièce d'identité.",
        "time": "14:30",
        "date": "lundi 7 décembre",
        "service": "Passeports",
        "code": "042917",
        "minutes": 10,
    },
    "en": {
        "number": "A-012",
        "position": 3,
        "eta_minutes": 12,
        "counter": "3",
        "queue": "Reception",
        "site": "Town hall",
        "link": "https://smartqueue.example/t/sample",
        "message": "Please bring an identity document.",
        "time": "2:30 pm",
        "date": "Monday 7 December",
        "service": "Passports",
        "code": "042917",
        "minutes": 10,
    },
}
"""The values a preview renders with, per language."""
APPOINTMENT_SAMPLES: dict[str, object] = {
    "code": "PAS-K7QMX",
    "link": "https://smartqueue.example/a/exemple",
}
"""An appointment's booking code and "my appointment" link, in place of a ticket's."""


def _blank(value: object) -> object:
    return "" if value is None else value


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        autoescape=autoescape, undefined=Undefined, finalize=_blank, keep_trailing_newline=True
    )
    # Nothing but the message's own values is in scope: no range, lipsum, cycler, namespace...
    environment.globals.clear()
    environment.filters = {name: DEFAULT_FILTERS[name] for name in FILTERS}
    environment.tests = {name: DEFAULT_TESTS[name] for name in TESTS}
    return environment


TEXT = _environment(autoescape=False)
HTML = _environment(autoescape=True)


def to_jinja(source: str) -> str:
    """``source`` with each ``{name}`` written as ``{{ name }}`` (lines stay where they were)."""
    return SHORTHAND.sub(r"{{ \1 }}", source)


def _describe(node: nodes.Node) -> str:
    names = {
        nodes.Getattr: "attribute access",
        nodes.Getitem: "item access",
        nodes.Call: "a call",
        nodes.For: "a loop",
    }
    return names.get(type(node), f"{type(node).__name__.lower()} expressions")


def _check_tree(tree: nodes.Template, kind: MessageKind, field: str) -> None:
    names: set[str] = set()
    for node in (tree, *tree.find_all(nodes.Node)):
        line = getattr(node, "lineno", None) or 1
        if type(node) not in ALLOWED_NODES:
            reason = (
                f"{_describe(node)} is not allowed in a template; "
                "use {variable}, {% if variable %} and filters only"
            )
            raise TemplateSyntaxInvalid(field, line, reason)
        if isinstance(node, nodes.Filter) and node.name not in FILTERS:
            raise TemplateSyntaxInvalid(
                field, line, f"filter {node.name!r} is not allowed; use {', '.join(FILTERS)}"
            )
        if isinstance(node, nodes.Test) and node.name not in TESTS:
            raise TemplateSyntaxInvalid(
                field, line, f"test {node.name!r} is not allowed; use {', '.join(TESTS)}"
            )
        if isinstance(node, nodes.Filter | nodes.Test) and (
            node.kwargs or node.dyn_args or node.dyn_kwargs
        ):
            raise TemplateSyntaxInvalid(field, line, "filters take plain arguments only")
        if isinstance(node, nodes.Name):
            names.add(node.name)
    check_template_variables(kind, names, field)


@lru_cache(maxsize=1024)
def _compile(source: str, kind: MessageKind, field: str, html: bool) -> Template:
    environment = HTML if html else TEXT
    jinja_source = to_jinja(source)
    try:
        tree = environment.parse(jinja_source)
    except TemplateError as error:
        line = getattr(error, "lineno", 1) or 1
        raise TemplateSyntaxInvalid(field, line, error.message or "not a template") from None
    _check_tree(tree, kind, field)
    return environment.from_string(jinja_source)


def _plain(value: object) -> object:
    # Only strings and numbers reach a template, so nothing in it has attributes worth reaching.
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _render_part(
    source: str, kind: MessageKind, field: str, values: Mapping[str, object], html: bool = False
) -> str:
    template = _compile(source, kind, field, html)
    try:
        return template.render(values)
    except TemplateError as error:
        raise TemplateSyntaxInvalid(field, getattr(error, "lineno", 1) or 1, str(error)) from None


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for its channel: the text, and the subject (email, push title) and HTML
    (email) when the channel has them."""

    text: str
    subject: str | None = None
    html: str | None = None


def _html_from_text(text: str) -> str:
    paragraphs = (escape(part).replace("\n", "<br>\n") for part in text.split("\n\n") if part)
    return (
        "<!doctype html>\n<html><body>\n"
        + "\n".join(f"<p>{p}</p>" for p in paragraphs)
        + "\n</body></html>\n"
    )


def render_message(
    kind: MessageKind,
    channel: Channel,
    language: str,
    values: Mapping[str, object],
    parts: TemplateParts | None = None,
) -> RenderedMessage:
    """Render the tenant's ``parts`` (or the built-in template) with ``values``; values the kind
    does not offer are left out, missing ones render empty."""
    parts = parts or builtin_template(kind, language, channel)
    check_template_parts(channel, parts)
    offered = {name: _plain(values.get(name)) for name in KIND_VARIABLES[kind]}
    text = _render_part(parts.text, kind, "text", offered).strip()
    subject = None
    if parts.subject is not None:
        rendered = _render_part(parts.subject, kind, "subject", offered)
        subject = " ".join(rendered.split())  # one header line, whatever the values hold
    html = None
    if channel is Channel.EMAIL:
        html = (
            _render_part(parts.html, kind, "html", offered, html=True)
            if parts.html is not None
            else _html_from_text(text)
        )
    return RenderedMessage(text=text, subject=subject, html=html)


def check_template(kind: MessageKind, channel: Channel, parts: TemplateParts) -> None:
    """Validate a tenant's template on save: the channel's parts, their syntax, the constructs
    and variables used (domain errors naming the part and line), then a trial rendering."""
    check_template_parts(channel, parts)
    for field, source in parts.fields().items():
        _compile(source, kind, field, field == "html")
    render_message(kind, channel, "en", SAMPLE_VALUES["en"], parts)


@dataclass(frozen=True)
class Preview:
    """A template rendered with sample values; ``sms`` is the SMS length for SMS templates."""

    message: RenderedMessage
    sms: SmsLength | None = None


def preview(
    kind: MessageKind,
    channel: Channel,
    language: str,
    parts: TemplateParts | None = None,
    values: Mapping[str, object] | None = None,
) -> Preview:
    """Render ``parts`` (or the built-in template) with the language's sample values, overridden
    by ``values``, and count SMS segments when the channel is SMS."""
    samples = dict(SAMPLE_VALUES.get(language, SAMPLE_VALUES["en"]))
    if kind in APPOINTMENT_KINDS:
        samples.update(APPOINTMENT_SAMPLES)
    samples.update(values or {})
    message = render_message(kind, channel, language, samples, parts)
    return Preview(message, sms_length(message.text) if channel is Channel.SMS else None)


class SandboxedTemplates:
    """The :class:`application.notification_setup.TemplateEngine` port on this module."""

    def check(self, kind: MessageKind, channel: Channel, parts: TemplateParts) -> None:
        check_template(kind, channel, parts)

    def preview(
        self,
        kind: MessageKind,
        channel: Channel,
        language: str,
        parts: TemplateParts,
        values: Mapping[str, object],
    ) -> TemplatePreview:
        shown = preview(kind, channel, language, parts, values)
        sms = None
        if shown.sms is not None:
            sms = SmsCount(
                encoding=shown.sms.encoding.value,
                segments=shown.sms.segments,
                characters=shown.sms.characters,
                units=shown.sms.units,
                remaining=shown.sms.remaining,
            )
        message = shown.message
        return TemplatePreview(
            subject=message.subject, text=message.text, html=message.html, sms=sms
        )
