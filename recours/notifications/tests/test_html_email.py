"""E-mails with an HTML alternative, received by a real SMTP server."""

import re

from django.db import transaction

from recours.notifications import outbox
from recours.notifications.models import OutboxMessage

STATUS_URL = "https://help.example.org/status/?ref=RC-7KQ4-M9XP"


def enqueue(template: str, language: str = "fr", **context) -> OutboxMessage:
    context = {"case": {"reference": "RC-7KQ4-M9XP"}, "status_url": STATUS_URL,
               **context}  # fmt: skip
    with transaction.atomic():
        return outbox.enqueue(
            dedupe_key=f"case:RC-7KQ4-M9XP:{template}:{language}",
            channel="email",
            recipient="client@example.org",
            template=template,
            context=context,
            language=language,
        )


def parts(received) -> tuple[str, str]:
    text = received.message.get_body(("plain",)).get_content()
    html = received.message.get_body(("html",)).get_content()
    return text.replace("\r\n", "\n").strip(), html


def test_it_sends_the_text_and_an_html_alternative(db, smtp_server):
    # given
    message = enqueue("case_acknowledged.email", days=5)

    # when
    outbox.deliver_due()

    # then: text first, HTML last (the part a client prefers), both saying it
    [received] = smtp_server.handler.received
    assert received.message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in received.message.iter_parts()]
    assert types == ["text/plain", "text/html"]
    text, html = parts(received)
    assert text == message.body
    assert html.replace("\r\n", "\n").strip() == message.html_body
    assert "RC-7KQ4-M9XP" in text and "RC-7KQ4-M9XP" in html
    assert f'href="{STATUS_URL.replace("&", "&amp;")}"' in html
    assert "5 jours" in html


def test_it_writes_html_that_needs_nothing_from_outside(db):
    # when
    html = enqueue("case_acknowledged.email", days=5).html_body

    # then: a lang attribute, inline styles, and nothing a client would fetch
    assert re.search(r'<html lang="fr"', html)
    assert "<title>Nous avons bien reçu votre signalement RC-7KQ4-M9XP</title>" in html
    assert 'style="' in html
    for fetched in ("<style", "<link", "<img", "<script", "src=", "url(", "@import"):
        assert fetched not in html, fetched


def test_it_escapes_what_people_wrote_in_the_html_part(db):
    # given: a reason written by staff, with markup and two lines
    reason = '<a href="https://evil.example">cliquez</a>\nDeuxième ligne'

    # when
    message = enqueue("case_status.email", status_label="Résolu", reason=reason)

    # then
    assert "&lt;a href=&quot;https://evil.example&quot;&gt;" in message.html_body
    assert 'href="https://evil.example"' not in message.html_body
    assert "cliquez&lt;/a&gt;<br>Deuxième ligne" in message.html_body
    assert reason in message.body


def test_it_renders_the_html_in_the_message_language(db):
    # when
    message = enqueue("case_reply.email", language="en", body="We refunded you.")

    # then
    assert '<html lang="en"' in message.html_body
    assert "Our team has replied to your case RC-7KQ4-M9XP" in message.html_body
    assert f"<title>{message.subject}</title>" in message.html_body


def test_it_sends_plain_text_only_when_the_template_has_no_html(db, smtp_server):
    # given: the access code e-mail has a text template only
    message = enqueue("access_code.email", link=STATUS_URL, code="123456")

    # when
    outbox.deliver_due()

    # then
    assert message.html_body == ""
    [received] = smtp_server.handler.received
    assert received.message.get_content_type() == "text/plain"
    assert "123456" in received.message.get_content()


def test_it_gives_an_sms_no_html(db):
    # when
    with transaction.atomic():
        message = outbox.enqueue(
            dedupe_key="case:RC-1:status:sms",
            channel="sms",
            recipient="+33612345678",
            template="case_status.sms",
            context={"case": {"reference": "RC-1"}, "status_label": "Résolu"},
            language="fr",
        )

    # then
    assert message.html_body == ""
