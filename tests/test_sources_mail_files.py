"""mbox (mboxo, mboxrd, gzip), pipermail .txt months, maildir folders and .eml files: each
split into exactly the messages it holds."""

from __future__ import annotations

import gzip
from pathlib import Path

from ingest.parse import parse_message
from ingest.sources import detect_format, iter_archive
from ingest.sources.detect import list_files, list_hint_for

MBOXRD = (
    b"From alice@example.org Mon Jan  6 10:00:00 2014\n"
    b"From: Alice <alice@example.org>\nSubject: first\nMessage-ID: <a1@example.org>\n"
    b"Date: Mon, 6 Jan 2014 10:00:00 +0000\n\n"
    b"Quoted mbox lines:\n>From here on it is escaped\n>>From twice escaped\n\n"
    b"From the garden I write, and this line is no separator.\n\n"
    b"From bob@example.org Mon Jan  6 11:00:00 2014\n"
    b"From: Bob <bob@example.org>\nSubject: second\nMessage-ID: <b1@example.org>\n"
    b"Date: Mon, 6 Jan 2014 11:00:00 +0000\n\nbye\n"
)


def bodies(path: Path, fmt: str = "auto") -> list[str]:
    return [parse_message(raw).body for raw in iter_archive(path, fmt)]


def test_mbox_splits_on_envelope_lines_followed_by_headers_only(tmp_path: Path) -> None:
    box = tmp_path / "list.mbox"
    box.write_bytes(MBOXRD)
    assert detect_format(box) == "mbox"
    first, second = bodies(box)
    assert "From the garden I write, and this line is no separator." in first
    assert second.strip() == "bye"


def test_mboxrd_escaping_is_undone_one_level(tmp_path: Path) -> None:
    box = tmp_path / "list.mbox"
    box.write_bytes(MBOXRD)
    first = bodies(box)[0]
    assert "\nFrom here on it is escaped\n>From twice escaped\n" in first


def test_gzip_files_are_read_as_they_are_with_byte_offsets(tmp_path: Path) -> None:
    box = tmp_path / "list.mbox.gz"
    box.write_bytes(gzip.compress(MBOXRD))
    raws = list(iter_archive(box))
    assert [r.offset for r in raws] == [0, MBOXRD.index(b"From bob@")]
    assert list_hint_for(box) == "list"


def test_pipermail_months_restore_obfuscated_addresses_and_take_the_folder_name(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "garden" / "archive"
    folder.mkdir(parents=True)
    month = folder / "2019-March.txt.gz"
    month.write_bytes(
        gzip.compress(
            b"From carol at example.org  Tue Apr  1 12:00:00 2003\n"
            b"From: carol at example.org (Carol Reed)\nSubject: hi\n"
            b"Date: Tue, 1 Apr 2003 12:00:00 +0000\nMessage-ID: <c1@example.org>\n\nhello\n"
        )
    )
    assert detect_format(month) == "pipermail-txt"
    assert list_hint_for(month) == "garden"
    (raw,) = list(iter_archive(month))
    parsed = parse_message(raw)
    assert (parsed.from_name, parsed.from_address) == ("Carol Reed", "carol@example.org")


def test_maildir_reads_new_and_cur_with_flags_in_file_names(tmp_path: Path) -> None:
    maildir = tmp_path / "inbox"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    message = b"From: A <a@example.org>\nSubject: s\nMessage-ID: <%s@example.org>\n\nx\n"
    (maildir / "new" / "1700000000.M1P1.host").write_bytes(message % b"new")
    (maildir / "cur" / "1600000000.M1P1.host:2,RS").write_bytes(message % b"seen")
    (maildir / "tmp" / "1800000000.M1P1.host").write_bytes(message % b"unfinished")
    assert detect_format(maildir) == "maildir"
    assert list_files([tmp_path]) == [(maildir, False)]
    ids = sorted(parse_message(r).message_id for r in iter_archive(maildir))
    assert ids == ["<new@example.org>", "<seen@example.org>"]


def test_a_folder_of_eml_files_is_walked_recursively_in_a_stable_order(tmp_path: Path) -> None:
    for name in ("b.eml", "sub/a.eml"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"From: x@example.org\nSubject: " + name.encode() + b"\n\nbody\n")
    files = list_files([tmp_path])
    assert files == [(tmp_path / "b.eml", False), (tmp_path / "sub" / "a.eml", False)]
    assert [detect_format(p) for p, _ in files] == ["eml", "eml"]
