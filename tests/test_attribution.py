"""Attribution lines: each form mail clients write names the right person (and address)."""

from __future__ import annotations

import pytest

from ingest.attribution import parse_attribution


def parsed(text: str) -> tuple[str | None, str | None, int, bool] | None:
    found = parse_attribution(text.split("\n"), 0)
    if found is None:
        return None
    return found.name, found.address, found.line_count, found.strong


@pytest.mark.parametrize(
    ("line", "name", "address", "strong"),
    [
        ("Mark McLoughlin wrote:", "Mark McLoughlin", None, False),
        (
            "Glyph Lefkowitz <glyph at twistedmatrix.com> writes:",
            "Glyph Lefkowitz",
            "glyph@twistedmatrix.com",
            False,
        ),
        (
            "On Tue, Apr 29, 2014 at 4:22 PM, Example Dev <sugar@example.com> wrote:",
            "Example Dev",
            "sugar@example.com",
            True,
        ),
        (
            'On Feb 5, 2014, at 6:05 AM, "Thierry Carrez" <thierry at openstack.org> wrote:',
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        ("On 9 Jan 2014, at 2:47, George Plymale wrote:", "George Plymale", None, True),
        ("On Wed, Feb 05, 2014 at 04:44:46PM +0000, Troy Toman wrote:", "Troy Toman", None, True),
        (
            "On Tue Feb 4 2014 Troy Toman <troy@example.com> wrote:",
            "Troy Toman",
            "troy@example.com",
            True,
        ),
        ("Thierry Carrez wrote on 05/02/2014 13:05:", "Thierry Carrez", None, True),
        (
            "2014-02-05 13:05 GMT+01:00 Thierry Carrez <thierry@openstack.org>:",
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        (
            "Am 05.02.2014 um 13:05 schrieb Thierry Carrez <thierry@openstack.org>:",
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        (
            "Le 5 févr. 2014 à 13:05, Thierry Carrez <thierry@openstack.org> a écrit :",
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        ("El 5 feb 2014, a las 13:05, Thierry Carrez escribió:", "Thierry Carrez", None, True),
        (
            "Op 5 feb. 2014 om 13:05 schreef Thierry Carrez <thierry@openstack.org>:",
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        ("Thierry Carrez schreef:", "Thierry Carrez", None, False),
        (
            "Den 5 feb 2014 kl. 13:05 skrev Thierry Carrez <thierry@openstack.org>:",
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        ("Thierry Carrez skrev:", "Thierry Carrez", None, False),
        (
            "Thierry Carrez <thierry@openstack.org> napisał(a):",
            "Thierry Carrez",
            "thierry@openstack.org",
            False,
        ),
        (
            "5 февраля 2014 г., 13:05 пользователь Thierry Carrez <thierry@openstack.org> написал:",
            "Thierry Carrez",
            "thierry@openstack.org",
            True,
        ),
        ("On Tue, 2014-02-04, you wrote:", None, None, True),
    ],
)
def test_one_line_forms_name_the_quoted_person(
    line: str, name: str | None, address: str | None, strong: bool
) -> None:
    assert parsed(line) == (name, address, 1, strong)


def test_an_attribution_wrapped_over_two_lines_is_read_whole() -> None:
    text = "On Wed, May 18, 2016 at 11:10 PM Steven Scott <notifications@github.com>\nwrote:"
    assert parsed(text) == ("Steven Scott", "notifications@github.com", 2, True)
    wrapped_address = (
        'On Feb 5, 2014, at 6:05 AM, "Thierry Carrez" <thierry at\nopenstack.org> wrote:'
    )
    assert parsed(wrapped_address) == ("Thierry Carrez", "thierry@openstack.org", 2, True)


def test_outlook_header_blocks_name_the_sender_with_or_without_the_marker() -> None:
    block = (
        "-----Original Message-----\nFrom: Dan Watson [mailto:user@host.com]\n"
        "Sent: Monday, November 26, 2012 10:48 AM\nTo: Someone\nSubject: Re: New Issue\n\nbody"
    )
    assert parsed(block) == ("Dan Watson", "user@host.com", 5, True)
    starred = "*From:* Dan Watson [mailto:user@host.com]\n*Sent:* Monday\n*To:* x@y.org\nbody"
    assert parsed(starred) == ("Dan Watson", "user@host.com", 3, True)
    german = "Von: Dan Watson <user@host.com>\nGesendet: Montag\nAn: x@y.org\nBetreff: Re: x"
    assert parsed(german) == ("Dan Watson", "user@host.com", 4, True)


@pytest.mark.parametrize(
    "line",
    [
        "Here is what I wrote:",
        "As I said:",
        "This is what the documentation says about it, and what we wrote:",
        "From the point of view of the user, this is fine.",
        "The plan:",
    ],
)
def test_prose_is_not_an_attribution(line: str) -> None:
    assert parsed(line) is None


def test_eudora_and_yahoo_forms() -> None:
    assert parsed("At 12:55 AM 4/9/2004 +0000, you wrote:") == (None, None, 1, True)
    yahoo = "--- Christopher Armstrong <radix at twistedmatrix.com>\nwrote:"
    assert parsed(yahoo) == ("Christopher Armstrong", "radix@twistedmatrix.com", 2, False)


def test_header_blocks_in_any_order_and_with_wrapped_values() -> None:
    thunderbird = (
        "-------- Original Message --------\nSubject: Naming\n"
        "Date: Tue, 20 Apr 2004 12:47:45 -0700\nFrom: Jeremy Noetzelman <jjn at kriln.com>\n"
        "To: Christopher Armstrong\n\nbody"
    )
    assert parsed(thunderbird) == ("Jeremy Noetzelman", "jjn@kriln.com", 5, True)
    wrapped = (
        "-----Original Message-----\nFrom: list-bounces at example.org\n"
        "[mailto:list-bounces at example.org] On Behalf Of Jean-Paul\nCalderone\n"
        "Sent: Sunday, March 05, 2006 3:25 PM\nTo: list at example.org\n\nbody"
    )
    assert parsed(wrapped) is not None
    assert parsed(wrapped)[2] == 6  # type: ignore[index]
