"""thread.html gives every article its parent from the thread key in the comment before its
entry (the whole ancestor chain), at any depth, in both template generations; the list's
nesting, which stops at depth 3, is used only where an entry has no readable key.

The fixtures under tests/fixtures/ingest/deep-threads/ are written the way Mailman writes
them, comment depths and indentation included: 2010-March by Mailman 2.1 (keys of
``<date>.<article>`` pairs, the article's Message-ID in its page), 2001-March by Mailman 2.0
(HTML 3.2, keys of ``<date>/<Message-ID>`` elements, pages whose reply link carries the
mail's In-Reply-To header, empty where the mail had none, instead of its Message-ID)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from flask import Flask

from ingest.parse import parse_message
from ingest.sources import iter_archive
from ingest.sources.pipermail_thread import read_key, thread_index
from tests.helpers import FIXTURES, run_cli

DEEP = FIXTURES / "ingest" / "deep-threads"
MAILMAN_21 = DEEP / "2010-March"
MAILMAN_20 = DEEP / "2001-March"


def release(n: int) -> str:
    return f"<{n}.release@deep.example>"


#: Every article of the 2.1 month and the parent its thread key names.
PARENTS_21 = {
    release(113): None,  # a negative date: Mailman indents this root one level
    release(114): release(113),
    release(101): None,
    release(102): release(101),
    release(103): release(102),
    release(104): release(103),  # depth 3, the deepest Mailman indents
    release(105): release(104),  # depth 4: listed at depth 3, after 104
    release(106): release(105),
    release(107): release(106),  # depth 6
    release(108): release(105),  # listed at depth 3 after 107
    release(109): release(103),
    release(110): release(101),
    release(115): release(110),  # no comment before its entry: the nesting places it
    "<ABC-DEF-0123-4567@old.example>": None,  # a root imported from 2.0, indented to 3
    release(112): "<ABC-DEF-0123-4567@old.example>",
    release(116): release(112),
}

#: Every article of the 2.0 month and its parent: the In-Reply-To its page shows, else the
#: one its thread key names.
PARENTS_20 = {
    "<a1@alpha.example>": None,
    "<b-2-x@beta.example>": "<a1@alpha.example>",  # its dashes indent it to depth 3
    "<c3@gamma.example>": "<b-2-x@beta.example>",
    "<d4@delta.example>": "<c3@gamma.example>",
    "<e-5@eps.example>": "<d4@delta.example>",
    "<f6@phi.example>": "<e-5@eps.example>",
    "<g7@eta.example>": "<f6@phi.example>",  # depth 6
    "<h8@theta.example>": "<b-2-x@beta.example>",
    "<i-9@iota.example>": "<older@february.example>",  # a header beats the key's "root"
    "<j10@kappa.example>": "<i-9@iota.example>",
}
#: The 2.0 pages whose reply link shows an In-Reply-To header.
REPLYING_20 = {
    "<c3@gamma.example>",
    "<e-5@eps.example>",
    "<g7@eta.example>",
    "<i-9@iota.example>",
    "<j10@kappa.example>",
}


def parents(folder: Path) -> dict[str, str | None]:
    parsed = [parse_message(raw) for raw in iter_archive(folder)]
    return {message.message_id: message.thread_parent for message in parsed}


def test_mailman_21_keys_give_every_parent_at_any_depth() -> None:
    assert parents(MAILMAN_21) == PARENTS_21


def test_mailman_20_keys_give_every_parent_and_every_id() -> None:
    assert parents(MAILMAN_20) == PARENTS_20


def test_a_mailman_20_page_shows_its_in_reply_to_header_not_its_own_id() -> None:
    parsed = [parse_message(raw) for raw in iter_archive(MAILMAN_20)]
    assert {m.message_id for m in parsed} == set(PARENTS_20)  # none took its parent's id
    assert {m.message_id: m.in_reply_to for m in parsed} == {
        m: PARENTS_20[m] if m in REPLYING_20 else None for m in PARENTS_20
    }


def test_the_fixtures_are_deep_and_nesting_alone_would_misplace_replies() -> None:
    # Seven generations in each month, and entries whose indentation tells a wrong parent.
    for table, root, leaf in [
        (PARENTS_21, release(101), release(107)),
        (PARENTS_20, "<a1@alpha.example>", "<g7@eta.example>"),
    ]:
        chain = [leaf]
        while table[chain[-1]] is not None:
            chain.append(table[chain[-1]])
        assert chain[-1] == root and len(chain) == 7
    page = (MAILMAN_21 / "thread.html").read_text()
    # 108 answers 105 but is listed at depth 3 right after 107: the indentation says 103.
    entry_107, entry_108 = page.index('"000107.html"'), page.index('"000108.html"')
    between = page[entry_107:entry_108]
    assert "<UL>" not in between and "</UL>" not in between and "<!--3 " in between


def test_an_html_month_alone_is_threaded_as_its_keys_say(app: Flask) -> None:
    result = run_cli(app, "ingest", str(MAILMAN_21), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stored"] == len(PARENTS_21)
    exported = run_cli(app, "export", "messages").stdout.splitlines()
    records = {r["message_id"]: r for r in map(json.loads, exported)}
    assert {m: r["parent_id"] for m, r in records.items()} == PARENTS_21
    assert records[release(107)]["parent_via"] == "pipermail-thread"
    assert records[release(107)]["thread_id"] == records[release(101)]["thread_id"]
    assert records[release(116)]["thread_id"] != records[release(101)]["thread_id"]


def test_a_mailman_20_month_alone_keeps_every_reply_and_its_parent(app: Flask) -> None:
    result = run_cli(app, "ingest", str(MAILMAN_20), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stored"] == len(PARENTS_20)
    exported = run_cli(app, "export", "messages").stdout.splitlines()
    records = {r["message_id"]: r for r in map(json.loads, exported)}
    assert {m: r["parent_id"] for m, r in records.items()} == PARENTS_20
    assert {m: r["parent_via"] for m, r in records.items() if r["parent_id"]} == {
        m: "in-reply-to" if m in REPLYING_20 else "pipermail-thread"
        for m, parent in PARENTS_20.items()
        if parent
    }


def test_a_key_reads_from_its_end_in_each_generation() -> None:
    # Mailman 2.1: the own element ends with the article's number.
    assert read_key("01267554431.101-01267555031.102-", "000102") == (None, ["01267554431.101-"])
    assert read_key("01267554431.101-", "000101") == (None, [])
    # Mailman 2.0 as upstream pipermail wrote it: dates only.
    assert read_key("00985000000-00985000900-", "000012") == (None, ["00985000000-"])
    assert read_key("00985000000-", "000011") == (None, [])
    # Elements holding the Message-ID, dashes and all.
    assert read_key("00985000000/a-1@x.example-00985000900/b-2@y.example-", "000012") == (
        "<b-2@y.example>",
        ["00985000000/a-1@x.example-"],
    )
    # A negative date: its sign and the parent's closing "-" read alike, so both are tried.
    assert read_key("-0785557196.113-", "000113") == (None, [])
    assert read_key("01267554431.101--0785557196.113-", "000113") == (
        None,
        ["01267554431.101-", "01267554431.101--"],
    )


def test_a_key_that_does_not_end_in_an_element_is_left_to_the_nesting() -> None:
    for key in ["", "-", "hello", "01267554431.101", "abc.101-", "01267554431.101x-"]:
        assert read_key(key, "000101")[1] is None, key
    # An element without its date is no element: not even its Message-ID is taken.
    assert read_key("01267554431.101-x/y@z-", "000102") == (None, None)


def test_a_hostile_thread_index_is_read_in_linear_time(tmp_path: Path) -> None:
    """Unterminated comments, unbalanced lists, a key of a million dashes and digits, and a
    staircase of 20,000 ever deeper entries: each read once."""
    staircase = "".join(f'<UL>\n<LI><A HREF="{n:06d}.html">x</A>\n' for n in range(20_000))
    page = (
        "<!--1 " * 50_000
        + "</UL>" * 50_000
        + "<!--3 "
        + "1-" * 500_000
        + ' -->\n<LI><A HREF="999999.html">y</A>\n'
        + staircase
    )
    (tmp_path / "thread.html").write_text(page)
    started = time.perf_counter()
    index = thread_index(tmp_path)
    assert time.perf_counter() - started < 2.0
    assert len(index.linked) == 20_001
    assert index.parents["000001"] == "000000" and index.parents["019999"] == "019998"
    assert "999999" not in index.parents
