"""One message to a ParsedMessage: ids, dates, text in every encoding, attachments, and the
rule that decides when two copies of a message are the same message."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest.copies import content_hash, copy_rank, truncated_copy
from ingest.message_ids import normalise_message_id
from ingest.parse import parse_message
from ingest.records import ParsedMessage, RawMessage, RejectedMessage


def parse(data: bytes, envelope: bytes | None = None) -> ParsedMessage:
    return parse_message(RawMessage(data=data, source="test", offset=0, envelope=envelope))


def test_raw_latin1_header_bytes_keep_their_letters() -> None:
    message = parse(b"From: J\xfcrgen <j@example.de>\nSubject: Gr\xfc\xdfe aus M\xfcnchen\n\nx\n")
    assert message.subject == "Grüße aus München"
    assert message.from_name == "Jürgen"


def test_rfc2047_headers_and_rfc2231_attachment_names_are_decoded() -> None:
    message = parse(
        b"From: =?utf-8?q?Ren=C3=A9e?= <r@example.fr>\n"
        b"Subject: =?iso-8859-1?q?caf=E9?= =?iso-8859-1?q?_cr=E8me?=\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
        b"--B\nContent-Type: text/plain; charset=utf-8\n\nvoil\xc3\xa0\n"
        b"--B\nContent-Type: application/pdf\n"
        b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"%PDF-1.4") + b"\n--B--\n"
    )
    assert message.from_name == "Renée"
    assert message.subject == "café crème"
    assert message.body.strip() == "voilà"
    assert [(a.filename, a.content_type, a.size) for a in message.attachments] == [
        ("résumé.pdf", "application/pdf", 8)
    ]


@pytest.mark.parametrize(
    ("charset", "encoded", "text"),
    [
        ("us-ascii", b"na=C3=AFve =E2=82=AC 5", "naïve € 5"),  # 8-bit text declared ASCII
        ("utf-8", b"caf=E9 cr=E8me", "café crème"),  # latin-1 declared utf-8
        ("iso-8859-1", b"=93quoted=94", "\u201cquoted\u201d"),  # cp1252 declared latin-1
        ("x-unheard-of", b"plain", "plain"),
    ],
)
def test_quoted_printable_bodies_and_wrong_declared_charsets_fall_back_without_loss(
    charset: str, encoded: bytes, text: str
) -> None:
    message = parse(
        b"From: a@example.org\nSubject: s\nContent-Type: text/plain; charset="
        + charset.encode()
        + b"\nContent-Transfer-Encoding: quoted-printable\n\n"
        + encoded
        + b"\n"
    )
    assert message.body.strip() == text


def test_multipart_alternative_prefers_the_plain_text() -> None:
    message = parse(
        b"From: a@example.org\nSubject: s\nContent-Type: multipart/alternative; boundary=B\n\n"
        b"--B\nContent-Type: text/plain\n\nplain words\n"
        b"--B\nContent-Type: text/html\n\n<p>html words</p>\n--B--\n"
    )
    assert message.body.strip() == "plain words"
    assert message.attachments == []


def test_html_only_mail_becomes_readable_text_without_scripts() -> None:
    message = parse(
        b"From: a@example.org\nSubject: s\nContent-Type: text/html\n\n"
        b"<html><head><style>p{}</style></head><body><p>Hello &amp; welcome</p>"
        b"<script>alert(1)</script></body></html>\n"
    )
    assert message.body == "Hello & welcome"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<<abc+x=y@example.org>>", "<abc+x=y@example.org>"),
        ("  <abc@example.org> (added by relay)", "<abc@example.org>"),
        ("<abc@\n example.org>", "<abc@example.org>"),
        ("<1112.8.camel at host.example.fr>", "<1112.8.camel@host.example.fr>"),
        ("<abc\u00e9@example.org>", "<abc@example.org>"),
        ("", None),
        ("   ", None),
    ],
)
def test_message_ids_are_normalised(value: str, expected: str | None) -> None:
    assert normalise_message_id(value) == expected


def test_a_missing_message_id_gets_a_stable_synthetic_one() -> None:
    data = b"From: a@example.org\nSubject: no id\nMessage-ID: \n\nbody\n"
    first, again = parse(data), parse(data)
    assert first.synthetic_id and first.message_id == again.message_id
    assert parse(data + b"more\n").message_id != first.message_id


def test_an_unparseable_date_falls_back_to_received_then_envelope_never_now() -> None:
    broken = b"From: a@example.org\nSubject: s\nDate: Mon, 21 Oct 2002 15:02:34 +50579034\n"
    received = b"Received: from x by y; Tue, 22 Oct 2002 08:00:00 -0400\n"
    with_received = parse(broken + received + b"\nx\n")
    assert with_received.date_source == "received"
    assert with_received.date == datetime(2002, 10, 22, 8, tzinfo=timezone(timedelta(hours=-4)))
    envelope = parse(broken + b"\nx\n", envelope=b"From a@example.org  Wed Oct 23 09:00:00 2002")
    assert envelope.date == datetime(2002, 10, 23, 9, tzinfo=UTC)
    assert envelope.date_source == "envelope"
    assert parse(broken + b"\nx\n").date is None


def test_no_archive_requests_are_honoured() -> None:
    assert parse(b"From: a@example.org\nSubject: s\nX-No-Archive: yes\n\nx\n").no_archive
    assert parse(b"From: a@example.org\nSubject: s\nX-Archive: no\n\nx\n").no_archive
    assert not parse(b"From: a@example.org\nSubject: s\n\nx\n").no_archive


def test_bytes_that_are_not_mail_are_rejected_with_a_reason() -> None:
    with pytest.raises(RejectedMessage, match="no From, Subject, Message-ID or Date"):
        parse(b"X-Junk: 1\n\n\x00\x01")
    with pytest.raises(RejectedMessage, match="empty"):
        parse(b"\n\n")


def test_copies_differing_only_in_export_artefacts_hash_alike() -> None:
    def key(body: str, subject: str = "s") -> str:
        return content_hash("<m@x>", "a@x", subject, "2002-01-01", body)

    assert key("Gr\u00fc\u00dfe, J\u00fcrgen") == key("Gr??e, J?rgen")
    assert key("metadata +AFs-1+AF0- here") == key("metadata [1] here")
    assert key("a  \nb\n") == key("a\nb")
    assert key("I agree") != key("I disagree")


def test_scrubbed_notes_spelled_differently_do_not_split_copies() -> None:
    def scrubbed(url_line: str, name: str) -> ParsedMessage:
        return parse(
            b"From: a@example.org\nSubject: s\nMessage-ID: <m@x>\n\nhello\n"
            b"-------------- next part --------------\nA non-text attachment was scrubbed...\n"
            b"Name: " + name.encode() + b"\nType: application/pgp-signature\nSize: 232 bytes\n"
            b"Desc: not available\n" + url_line.encode() + b"\n"
        )

    old = scrubbed("Url : http://h/attachments/1/a/attachment.pgp ", "not available")
    new = scrubbed("URL: </attachments/1/a/attachment.sig>", "signature.asc")
    assert old.content_hash == new.content_hash
    assert old.body == new.body == "hello"
    assert copy_rank(False, False, new.body, new.attachments) < copy_rank(
        False, False, old.body, old.attachments
    )


def test_a_copy_cut_short_at_a_from_line_is_the_same_message_and_loses() -> None:
    full = "Question?\n\nFrom the docs: it works.\n"
    cut = "Question?\n"
    assert truncated_copy(cut, full)
    assert not truncated_copy("Question?", "Another question")
    assert copy_rank(False, False, full, []) < copy_rank(False, False, cut, [])
