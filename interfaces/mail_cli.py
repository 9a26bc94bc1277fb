"""``smartqueue mail``: the messages ``smartqueue dev``'s mail catcher caught, and the catcher's
start-up (``dev`` points its email channel at it when no SMTP server is configured)."""

from __future__ import annotations

import dataclasses

import click

from infrastructure.notify.mail_catcher import MailCatcher, caught_mail, mail_directory
from infrastructure.settings import Settings
from interfaces.startup import role_settings


def start_mail_catcher(settings: Settings) -> tuple[Settings, MailCatcher | None]:
    """With no ``SMARTQUEUE_SMTP_HOST``, a mail catcher on a free loopback port and ``settings``
    whose email channel sends to it; otherwise the configured server and no catcher."""
    if settings.notify.smtp_host:
        return settings, None
    catcher = MailCatcher(mail_directory(settings.home)).start()
    notify = dataclasses.replace(
        settings.notify,
        smtp_host=catcher.host,
        smtp_port=catcher.port,
        smtp_security="none",
        smtp_username="",
        smtp_password="",
    )
    return dataclasses.replace(settings, notify=notify), catcher


@click.command("mail")
@click.option(
    "--last",
    "last",
    type=click.IntRange(min=1),
    default=None,
    help="Print the last N messages in full instead of listing them all.",
)
def mail_command(last: int | None) -> None:
    """The mail `smartqueue dev` caught (files under $SMARTQUEUE_HOME/mail/), oldest first."""
    directory = mail_directory(role_settings().home)
    caught = caught_mail(directory)
    if not caught:
        click.echo(f"no mail caught yet in {directory}", err=True)
        return
    if last is None:
        for number, mail in enumerate(caught, 1):
            click.echo(f"{number:>4}  {mail.summary}")
        click.echo(f"{len(caught)} messages in {directory}; --last N prints them", err=True)
        return
    for mail in caught[-last:]:
        click.echo(f"== {mail.path.name}")
        click.echo(mail.text())
