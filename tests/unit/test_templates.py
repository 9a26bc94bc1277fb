"""Tenant templates: sandboxed rendering, validation on save, built-ins and previews."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from domain.errors import InvalidInput
from domain.messages import (
    LANGUAGES,
    Channel,
    MessageKind,
    TemplateParts,
    TemplateSyntaxInvalid,
    UnknownTemplateVariable,
)
from domain.sms import SmsEncoding
from infrastructure.notify.builtin_templates import TEXTS, builtin_template
from infrastructure.notify.templates import (
    TEXT,
    check_template,
    preview,
    render_message,
    to_jinja,
)

K = MessageKind
VALUES = {"number": "A-012", "position": 4, "eta_minutes": 25, "counter": "3", "site": "Town hall"}


def sms(text: str) -> TemplateParts:
    return TemplateParts(text=text)


def test_tenants_write_placeholders_in_braces_or_double_braces():
    parts = sms("Your number is {number}, position { position } ({{ eta_minutes }} min).")
    message = render_message(K.TICKET_ISSUED, Channel.SMS, "en", VALUES, parts)
    assert message.text == "Your number is A-012, position 4 (25 min)."


def test_conditions_and_a_few_filters_are_allowed():
    parts = sms("{{ number|lower }}{% if counter %} at counter {counter}{% else %} soon{% endif %}")
    assert render_message(K.CALLED, Channel.SMS, "en", VALUES, parts).text == "a-012 at counter 3"
    without = {**VALUES, "counter": None}
    assert render_message(K.CALLED, Channel.SMS, "en", without, parts).text == "a-012 soon"


def test_the_shorthand_leaves_other_braces_and_line_numbers_alone():
    assert to_jinja("a {x}\n{{ y }} {% if z %}{w}{% endif %} {not-a-name}") == (
        "a {{ x }}\n{{ y }} {% if z %}{{ w }}{% endif %} {not-a-name}"
    )


def test_an_unknown_variable_is_refused_on_save_naming_it():
    with pytest.raises(UnknownTemplateVariable) as refused:
        check_template(K.TURN_NEAR, Channel.SMS, sms("Go to counter {counter} now, {name}"))
    assert refused.value.names == ["counter", "name"]
    assert isinstance(refused.value, InvalidInput)  # the HTTP layer's 422


def test_an_unknown_variable_in_an_email_subject_names_the_subject():
    parts = TemplateParts(subject="Ticket {ticket}", text="{number}", html="<p>{number}</p>")
    with pytest.raises(UnknownTemplateVariable, match="subject"):
        check_template(K.TICKET_ISSUED, Channel.EMAIL, parts)


def test_a_syntax_error_names_the_part_and_the_line():
    parts = sms("Hello {number}\nsecond line\n{% if counter %}no end")
    with pytest.raises(TemplateSyntaxInvalid) as refused:
        check_template(K.CALLED, Channel.SMS, parts)
    assert refused.value.field == "text"
    assert refused.value.line == 3
    assert str(refused.value).startswith("text, line 3:")


def test_a_syntax_error_in_html_names_the_html_part():
    parts = TemplateParts(subject="S", text="T", html="<p>\n\n{{ number </p>")
    with pytest.raises(TemplateSyntaxInvalid, match=r"^html, line 3"):
        check_template(K.CALLED, Channel.EMAIL, parts)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ ''.__class__ }}", "attribute access"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "a call"),
        ("{{ number.upper() }}", "a call"),
        ("{{ number['__class__'] }}", "item access"),
        ("{{ cycler.__init__.__globals__ }}", "attribute access"),
        ("{{ range(10) }}", "a call"),
        ("{% for x in number %}{{ x }}{% endfor %}", "a loop"),
        ("{% set a = number %}{{ a }}", "assign"),
        ("{{ 'x' * 100000000 }}", "mul"),
        ("{{ number ~ site }}", "concat"),
        ("{% include 'secrets.txt' %}", "include"),
        ("{% macro m() %}{% endmacro %}", "macro"),
        ("{{ number|attr('__class__') }}", "filter 'attr'"),
        ("{{ number|map('upper') }}", "filter 'map'"),
        ("{{ number is callable }}", "test 'callable'"),
    ],
)
def test_constructs_that_reach_beyond_the_values_are_refused(source, reason):
    with pytest.raises(TemplateSyntaxInvalid, match=reason):
        check_template(K.CALLED, Channel.SMS, sms("line one\n" + source))
    with pytest.raises(TemplateSyntaxInvalid, match="line 2"):
        render_message(K.CALLED, Channel.SMS, "en", VALUES, sms("line one\n" + source))


@pytest.mark.parametrize("name", ["lipsum", "cycler", "range", "self", "namespace", "config"])
def test_jinja_globals_are_not_variables(name):
    with pytest.raises(UnknownTemplateVariable, match=name):
        check_template(K.CALLED, Channel.SMS, sms("{{ " + name + " }}"))


def test_the_sandbox_itself_refuses_dunder_attributes_behind_the_check():
    with pytest.raises(SecurityError):
        TEXT.from_string("{{ ''.__class__.__mro__ }}").render()
    assert TEXT.globals == {}


def test_values_are_plain_text_and_never_rendered_as_templates():
    parts = sms("{site}: {number}")
    hostile = {"site": "{{ ''.__class__ }}", "number": object()}
    text = render_message(K.CALLED, Channel.SMS, "en", hostile, parts).text
    assert text.startswith("{{ ''.__class__ }}: <object object at")


def test_values_are_escaped_in_html_but_not_in_text():
    parts = TemplateParts(subject="{site}", text="{site}", html="<p>{site}</p>")
    values = {**VALUES, "site": "<script>alert(1)</script> & Co"}
    message = render_message(K.CALLED, Channel.EMAIL, "en", values, parts)
    assert message.text == "<script>alert(1)</script> & Co"
    assert message.html == "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co</p>"


def test_a_subject_is_one_line_whatever_the_values_hold():
    parts = TemplateParts(subject="Ticket {number}", text="x")
    values = {**VALUES, "number": "A-1\r\nBcc: someone@example.com"}
    message = render_message(K.CALLED, Channel.PUSH, "en", values, parts)
    assert message.subject == "Ticket A-1 Bcc: someone@example.com"


def test_an_email_without_html_gets_one_made_from_its_text():
    parts = TemplateParts(subject="S", text="Hello <you>,\n\nnumber {number}\nbye")
    message = render_message(K.CALLED, Channel.EMAIL, "en", VALUES, parts)
    assert "<p>Hello &lt;you&gt;,</p>" in message.html
    assert "<p>number A-012<br>\nbye</p>" in message.html


def test_values_a_kind_does_not_offer_are_left_out_and_missing_ones_render_empty():
    parts = sms("{number}|{position}|{eta_minutes}")
    values = {"number": "A-1", "counter": "9"}
    assert render_message(K.TURN_NEAR, Channel.SMS, "en", values, parts).text == "A-1||"


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", list(Channel))
def test_every_built_in_template_passes_its_own_validation(kind, language, channel):
    parts = builtin_template(kind, language, channel)
    check_template(kind, channel, parts)
    message = preview(kind, channel, language).message
    assert message.text and "{" not in message.text and "None" not in message.text
    if channel in (Channel.EMAIL, Channel.PUSH):
        assert message.subject and "{" not in message.subject
    if channel is Channel.EMAIL:
        assert f'<html lang="{language}">' in message.html


def test_built_in_texts_exist_for_every_kind_and_language():
    assert set(TEXTS) == set(MessageKind)
    assert all(set(by_language) == set(LANGUAGES) for by_language in TEXTS.values())


@pytest.mark.parametrize("kind", list(MessageKind))
@pytest.mark.parametrize("language", LANGUAGES)
def test_built_in_sms_are_gsm7_and_fit_one_segment_with_sample_values(kind, language):
    shown = preview(kind, Channel.SMS, language)
    assert shown.sms is not None
    assert shown.sms.encoding is SmsEncoding.GSM7
    assert shown.sms.segments == 1


def test_built_in_french_and_english_differ_and_follow_the_language():
    french = render_message(K.CALLED, Channel.SMS, "fr", VALUES)
    english = render_message(K.CALLED, Channel.SMS, "en-GB", VALUES)
    assert "guichet 3" in french.text
    assert "counter 3" in english.text


def test_a_built_in_email_carries_the_link_only_when_there_is_one():
    with_link = render_message(
        K.TICKET_ISSUED, Channel.EMAIL, "en", {**VALUES, "link": "https://q/t/x"}
    )
    assert 'href="https://q/t/x"' in with_link.html
    assert "https://q/t/x" in with_link.text
    without = render_message(K.TICKET_ISSUED, Channel.EMAIL, "en", VALUES)
    assert "href" not in without.html


def test_preview_counts_segments_for_sms_only():
    long_text = sms("Votre tour approche : " + "ç" * 60 + " {number}")
    shown = preview(K.TURN_NEAR, Channel.SMS, "fr", long_text)
    assert shown.message.text.endswith("A-012")
    assert (shown.sms.encoding, shown.sms.segments) == (SmsEncoding.UCS2, 2)
    assert preview(K.TURN_NEAR, Channel.WHATSAPP, "fr", long_text).sms is None


def test_preview_takes_values_that_override_the_samples():
    shown = preview(K.CALLED, Channel.SMS, "en", sms("{counter}"), values={"counter": "12B"})
    assert shown.message.text == "12B"


def test_a_template_a_channel_cannot_carry_is_refused():
    with pytest.raises(InvalidInput, match="sms template has no subject"):
        check_template(K.CALLED, Channel.SMS, TemplateParts(subject="S", text="T"))
