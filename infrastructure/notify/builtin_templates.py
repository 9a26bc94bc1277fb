"""The templates every tenant starts with: French and English, for each message kind and channel.

Each kind has a subject and a one-sentence body per language. SMS, WhatsApp and push send
``{site} : body`` (push with the subject as its title), plus the ticket's link when there is
one; email wraps the body in a greeting, the link and a sign-off, as plain text and as HTML.
The short French texts keep to GSM-7 characters (no ``ç``, ``ê``, ``ô``...), so an SMS is not
billed at the UCS-2 rate of 70 characters a segment.
"""

from __future__ import annotations

from html import escape

from domain.messages import (
    APPOINTMENT_KINDS,
    Channel,
    MessageKind,
    TemplateParts,
    check_language,
)

K = MessageKind
_ETA_FR = "{% if eta_minutes %}, environ {eta_minutes} min{% endif %}"
_ETA_EN = "{% if eta_minutes %}, about {eta_minutes} min{% endif %}"

# kind -> language -> (subject, body). Bodies are single sentences with {placeholders}.
TEXTS: dict[MessageKind, dict[str, tuple[str, str]]] = {
    K.TICKET_ISSUED: {
        "fr": (
            "Votre ticket {number}",
            "votre numéro est {number} ({queue}). Position {position}" + _ETA_FR + ".",
        ),
        "en": (
            "Your ticket {number}",
            "your number is {number} ({queue}). Position {position}" + _ETA_EN + ".",
        ),
    },
    K.TURN_NEAR: {
        "fr": (
            "{number} : votre tour approche",
            "votre tour approche ({number}, position {position}). Merci de vous rapprocher.",
        ),
        "en": (
            "{number}: your turn is near",
            "your turn is near ({number}, position {position}). Please make your way back.",
        ),
    },
    K.CALLED: {
        "fr": (
            "{number} : c'est à vous, guichet {counter}",
            "{number}, c'est à vous ! Présentez-vous au guichet {counter}.",
        ),
        "en": (
            "{number}: it's your turn, counter {counter}",
            "{number}, it's your turn! Please go to counter {counter}.",
        ),
    },
    K.RECALLED: {
        "fr": (
            "{number} : on vous attend au guichet {counter}",
            "rappel, {number}, on vous attend au guichet {counter}.",
        ),
        "en": (
            "{number}: counter {counter} is waiting for you",
            "reminder, {number}, counter {counter} is waiting for you.",
        ),
    },
    K.TRANSFERRED: {
        "fr": (
            "{number} : ticket transféré vers {queue}",
            "votre ticket {number} a été transféré vers {queue}. Position {position}"
            + _ETA_FR
            + ".",
        ),
        "en": (
            "{number}: ticket moved to {queue}",
            "your ticket {number} was moved to {queue}. Position {position}" + _ETA_EN + ".",
        ),
    },
    K.NO_SHOW: {
        "fr": (
            "{number} : ticket clos",
            "nous avons appelé {number} sans réponse, le ticket est clos. "
            "Vous pouvez en prendre un nouveau.",
        ),
        "en": (
            "{number}: ticket closed",
            "we called {number} but you did not come, so the ticket is closed. "
            "You can take a new one.",
        ),
    },
    K.CANCELLED: {
        "fr": ("{number} : ticket annulé", "votre ticket {number} ({queue}) est annulé."),
        "en": ("{number}: ticket cancelled", "your ticket {number} ({queue}) is cancelled."),
    },
    K.FREE_TEXT: {
        "fr": ("Message de {site}", "{message}"),
        "en": ("Message from {site}", "{message}"),
    },
    K.APPOINTMENT_CONFIRMED: {
        "fr": (
            "Rendez-vous confirmé le {date} à {time}",
            "votre rendez-vous {service} est confirmé le {date} à {time}. Code {code}.",
        ),
        "en": (
            "Appointment confirmed: {date} at {time}",
            "your {service} appointment is confirmed for {date} at {time}. Code {code}.",
        ),
    },
    K.APPOINTMENT_RESCHEDULED: {
        "fr": (
            "Rendez-vous déplacé au {date} à {time}",
            "votre rendez-vous {service} est déplacé au {date} à {time}. Code {code}.",
        ),
        "en": (
            "Appointment moved to {date} at {time}",
            "your {service} appointment has moved to {date} at {time}. Code {code}.",
        ),
    },
    K.APPOINTMENT_CANCELLED: {
        "fr": (
            "Rendez-vous du {date} annulé",
            "votre rendez-vous {service} du {date} à {time} est annulé.",
        ),
        "en": (
            "Appointment on {date} cancelled",
            "your {service} appointment on {date} at {time} is cancelled.",
        ),
    },
    K.APPOINTMENT_REMINDER: {
        "fr": (
            "Rappel : rendez-vous le {date} à {time}",
            "rappel de votre rendez-vous {service} le {date} à {time}. Code {code}.",
        ),
        "en": (
            "Reminder: appointment on {date} at {time}",
            "a reminder of your {service} appointment on {date} at {time}. Code {code}.",
        ),
    },
    K.APPOINTMENT_CHECK_IN_OPEN: {
        "fr": (
            "Rendez-vous de {time} : enregistrement ouvert",
            "enregistrez-vous pour votre rendez-vous {service} de {time} : code {code}.",
        ),
        "en": (
            "{time} appointment: check-in is open",
            "you can check in now for your {service} appointment at {time}: code {code}.",
        ),
    },
    K.FEEDBACK_REQUEST: {
        "fr": ("Votre avis sur votre visite", "merci de votre visite ! Votre avis compte."),
        "en": ("How was your visit?", "thank you for visiting! Tell us how it went."),
    },
    K.JOIN_CODE: {
        "fr": (
            "Votre code : {code}",
            "votre code pour prendre un ticket est {code}. Valable {minutes} min.",
        ),
        "en": (
            "Your code: {code}",
            "your code to take a ticket is {code}. Valid for {minutes} min.",
        ),
    },
}

WORDS = {
    "fr": {
        "colon": " :",
        "greeting": "Bonjour,",
        "signoff": "À bientôt,",
        "link": "Suivi",
        "feedback": "Donner mon avis",
        "appointment": "Mon rendez-vous",
    },
    "en": {
        "colon": ":",
        "greeting": "Hello,",
        "signoff": "See you soon,",
        "link": "Follow it",
        "feedback": "Give feedback",
        "appointment": "My appointment",
    },
}


def _sentence(body: str) -> str:
    # Bodies follow "{site} :" in short texts; a sentence of its own in email starts with a capital.
    return body[:1].upper() + body[1:]


def _link_label(kind: MessageKind, language: str) -> str:
    if kind is K.FEEDBACK_REQUEST:
        return WORDS[language]["feedback"]
    return WORDS[language]["appointment" if kind in APPOINTMENT_KINDS else "link"]


def short_text(kind: MessageKind, language: str) -> str:
    """The SMS, WhatsApp and push text of ``kind`` in ``language``."""
    words = WORDS[language]
    _, body = TEXTS[kind][language]
    link = "{% if link %} " + _link_label(kind, language) + words["colon"] + " {link}{% endif %}"
    return "{site}" + words["colon"] + " " + body + link


def email_text(kind: MessageKind, language: str) -> str:
    """The plain-text email body of ``kind`` in ``language``."""
    words = WORDS[language]
    _, body = TEXTS[kind][language]
    link = "{% if link %}" + _link_label(kind, language) + words["colon"] + " {link}\n\n{% endif %}"
    return f"{words['greeting']}\n\n{_sentence(body)}\n\n{link}{words['signoff']}\n{{site}}\n"


def email_html(kind: MessageKind, language: str) -> str:
    """The HTML email body of ``kind`` in ``language`` (values are escaped when rendered)."""
    words = WORDS[language]
    _, body = TEXTS[kind][language]
    link = (
        '{% if link %}<p><a href="{link}">'
        + escape(_link_label(kind, language))
        + "</a></p>{% endif %}"
    )
    return (
        f'<!doctype html>\n<html lang="{language}"><body>\n'
        f"<p>{escape(words['greeting'], quote=False)}</p>\n"
        f"<p>{escape(_sentence(body), quote=False)}</p>\n"
        f"{link}\n"
        f"<p>{escape(words['signoff'], quote=False)}<br>{{site}}</p>\n"
        "</body></html>\n"
    )


def builtin_template(kind: MessageKind, language: str, channel: Channel) -> TemplateParts:
    """The built-in template of ``kind`` for ``channel`` in ``language`` (``fr``, ``en``)."""
    language = check_language(language)
    subject, _ = TEXTS[kind][language]
    if channel is Channel.EMAIL:
        return TemplateParts(
            subject=subject, text=email_text(kind, language), html=email_html(kind, language)
        )
    if channel is Channel.PUSH:
        return TemplateParts(subject=subject, text=short_text(kind, language))
    return TemplateParts(text=short_text(kind, language))
