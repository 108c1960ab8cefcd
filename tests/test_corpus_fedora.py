"""fedora-devel, January 2010 (../shared/corpora): un-obfuscated headers, so the threads
Quorum builds can be checked against the parents the headers give."""

from __future__ import annotations

import email
import gzip
import json
import mailbox
import re
from pathlib import Path

import pytest
from flask import Flask

from tests.helpers import CORPORA, run_cli

MONTH = (
    CORPORA
    / "fedora-devel-2010-01"
    / "jwzthreading"
    / "tests"
    / "data"
    / "fedora-devel-mailman"
    / "2010-January.txt.gz"
)
_ID = re.compile(r"<[^<>\s]+>")


def header_parents(tmp_path: Path) -> dict[str, str | None]:
    """Each message's parent as its own headers name it (last References id, else
    In-Reply-To), read with the standard library rather than with Quorum."""
    plain = tmp_path / "month.mbox"
    plain.write_bytes(gzip.decompress(MONTH.read_bytes()))
    parents: dict[str, str | None] = {}
    for message in mailbox.mbox(plain, factory=lambda f: email.message_from_binary_file(f)):
        own = _ID.findall(str(message.get("Message-ID", "")))
        refs = _ID.findall(" ".join(str(v) for v in message.get_all("References", [])))
        reply = _ID.findall(str(message.get("In-Reply-To", "")))
        if own:
            parents[own[0]] = (refs or reply or [None])[-1]
    return parents


@pytest.mark.corpus
def test_threads_agree_with_the_parents_the_headers_give(app: Flask, tmp_path: Path) -> None:
    result = run_cli(app, "ingest", str(MONTH), "--list", "fedora-devel", "--json")
    assert json.loads(result.stdout)["stored"] == 292
    records = {
        r["message_id"]: r
        for r in map(json.loads, run_cli(app, "export", "messages").stdout.splitlines())
    }
    expected = header_parents(tmp_path)
    assert len(expected) == 292
    with_parent = 0
    for message_id, parent in expected.items():
        record = records[message_id]
        if parent is None:
            assert record["parent_via"] in (None, "subject"), message_id
            continue
        assert record["parent_id"] == parent, message_id
        assert record["parent_via"] in ("references", "in-reply-to")
        if parent in records:
            with_parent += 1
            assert record["thread_id"] == records[parent]["thread_id"], message_id
    assert with_parent > 150
