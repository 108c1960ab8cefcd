"""Storing parsed messages: one atomic batch at a time, every message accounted for.

Each message read becomes exactly one of: stored, duplicate (same list, Message-ID and
content), skipped (the sender asked for no archiving) or rejected (quarantined with its
raw bytes and reason). A batch is one transaction, so a killed ingest leaves whole batches
and a rerun counts what was already stored as duplicates.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.lists import new_list_search_config, new_list_visibility
from app.models import (
    MailingList,
    Message,
    MessageReference,
    Participant,
    ParticipantAddress,
    Rejection,
)
from app.settings import ListSettings
from app.threads import Threader, header_parent, message_ancestry
from ingest.copies import copy_rank, truncated_copy
from ingest.pipermail_article import ARTICLE_DATE_SOURCE
from ingest.records import Attachment, ParsedMessage, RawMessage
from ingest.storable import storable_text
from ingest.subjects import subject_key

OUTCOMES = ("stored", "duplicate", "skipped", "rejected")


@dataclass(slots=True)
class Outcome:
    """What the ingester made of one raw message, before it is stored."""

    raw: RawMessage
    parsed: ParsedMessage | None = None
    reason: str | None = None  # set for rejected messages


@dataclass
class Account:
    """The exact account of an ingest: read = stored + duplicate + skipped + rejected."""

    read: int = 0
    stored: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0
    per_file: dict[str, dict[str, int]] = field(default_factory=dict)
    rejections: list[dict[str, object]] = field(default_factory=list)
    #: Files met while walking folders that hold no mail (a README beside the archives).
    ignored_files: list[str] = field(default_factory=list)

    def count(self, source: str, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.read += 1
        per = self.per_file.setdefault(source, {"read": 0, **dict.fromkeys(OUTCOMES, 0)})
        per[outcome] += 1
        per["read"] += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "read": self.read,
            "stored": self.stored,
            "duplicate": self.duplicate,
            "skipped": self.skipped,
            "rejected": self.rejected,
            "files": self.per_file,
            "rejections": self.rejections,
            "ignored_files": self.ignored_files,
        }


def compress(data: bytes) -> bytes:
    """Raw bytes as stored: level 1 keeps most of the saving at a third of the time."""
    return zlib.compress(data, 1)


def decompress(data: bytes) -> bytes:
    return zlib.decompress(data)


class BatchStore:
    """Stores batches of outcomes into one session; caches lists and participants."""

    def __init__(
        self,
        session: Session,
        quarantine_dir: Path,
        list_name: str | None,
        subject_window_days: int,
        run_id: int | None = None,
        lists: Mapping[str, ListSettings] | None = None,
    ) -> None:
        self.session = session
        self.quarantine_dir = quarantine_dir
        self.list_name = list_name
        self.lists = lists or {}
        self.subject_window_days = subject_window_days
        self.run_id = run_id
        self._lists: dict[str, MailingList] = {}
        self._participants: dict[str, int | Participant] = {}

    def store(self, outcomes: list[Outcome], account: Account) -> set[int]:
        """Store one batch (the caller commits): account for every outcome. Returns the ids
        of the threads that changed, for what is derived from them."""
        # Messages whose parent evidence is new (stored, or replaced by a better copy).
        to_thread: dict[int, dict[int, Message]] = {}
        replaced: list[Message] = []
        with self.session.no_autoflush:
            copies_of = self._existing_copies(outcomes)
            taken_down = self._taken_down(outcomes)
            self._load_participants(outcomes)
            for outcome in outcomes:
                raw, parsed = outcome.raw, outcome.parsed
                if parsed is None:
                    self._quarantine(raw, outcome.reason or "unknown", account)
                    continue
                if parsed.no_archive:
                    account.count(raw.source, "skipped")
                    continue
                mailing_list = self._list_for(parsed, raw)
                refusal = self._private_refusal(mailing_list, parsed)
                if refusal is not None:
                    self._quarantine(raw, refusal, account)
                    continue
                copies = copies_of.setdefault((mailing_list.id, parsed.message_id), [])
                same = _same_message(copies, parsed)
                if same is not None:
                    account.count(raw.source, "duplicate")
                    if self._keep_better_copy(same, parsed, raw) and same.id is not None:
                        replaced.append(same)
                        to_thread.setdefault(mailing_list.id, {})[id(same)] = same
                    continue
                message = Message(
                    list_id=mailing_list.id,
                    id_conflict=False,
                    hidden=parsed.message_id in taken_down,
                )
                self._fill(message, parsed, raw)
                self.session.add(message)
                if copies:
                    message.id_conflict = True
                    for other in copies:
                        other.id_conflict = True
                copies.append(message)
                to_thread.setdefault(mailing_list.id, {})[id(message)] = message
                account.count(raw.source, "stored")
        self.session.flush()
        if replaced:
            self.session.execute(
                delete(MessageReference).where(
                    MessageReference.message_pk.in_([m.id for m in replaced])
                )
            )
        touched: set[int] = set()
        for list_id, by_object in to_thread.items():
            messages = list(by_object.values())
            rows = [
                {"message_pk": m.id, "position": i, "ref_message_id": ref}
                for m in messages
                for i, ref in enumerate(message_ancestry(m))
            ]
            if rows:
                self.session.execute(insert(MessageReference), rows)
            threader = Threader(self.session, list_id, self.subject_window_days)
            touched |= threader.thread(messages)
        return touched

    def _existing_copies(self, outcomes: list[Outcome]) -> dict[tuple[int, str], list[Message]]:
        """Stored messages sharing a list and Message-ID with the batch, one query per list."""
        ids_by_list: dict[int, set[str]] = {}
        for outcome in outcomes:
            if outcome.parsed is not None and not outcome.parsed.no_archive:
                list_id = self._list_for(outcome.parsed, outcome.raw).id
                ids_by_list.setdefault(list_id, set()).add(outcome.parsed.message_id)
        found: dict[tuple[int, str], list[Message]] = {}
        for list_id, ids in ids_by_list.items():
            for message in self.session.scalars(
                select(Message).where(Message.list_id == list_id, Message.message_id.in_(ids))
            ):
                found.setdefault((list_id, message.message_id), []).append(message)
        return found

    def _taken_down(self, outcomes: list[Outcome]) -> set[str]:
        """The batch's Message-IDs of which a copy was hidden on request: a copy arriving
        later (a cross-post, a variant) must not bring the text back to readers, so it
        arrives hidden too and staff decide."""
        ids = {o.parsed.message_id for o in outcomes if o.parsed is not None}
        if not ids:
            return set()
        # Naming every list lets the (list, Message-ID) index answer: lists are few.
        list_ids = list(self.session.scalars(select(MailingList.id)))
        return set(
            self.session.scalars(
                select(Message.message_id)
                .where(
                    Message.list_id.in_(list_ids),
                    Message.message_id.in_(ids),
                    Message.hidden.is_(True),
                )
                .distinct()
            )
        )

    def _list_for(self, parsed: ParsedMessage, raw: RawMessage) -> MailingList:
        name = (self.list_name or parsed.list_id or raw.list_hint or "unsorted").lower()
        mailing_list = self._lists.get(name)
        if mailing_list is None:
            mailing_list = self.session.scalar(select(MailingList).where(MailingList.name == name))
            if mailing_list is None:
                mailing_list = MailingList(
                    name=name,
                    visibility=new_list_visibility(self.lists, name),
                    search_config=new_list_search_config(self.lists, name),
                )
                self.session.add(mailing_list)
                self.session.flush()
            self._lists[name] = mailing_list
        return mailing_list

    def _private_refusal(self, mailing_list: MailingList, parsed: ParsedMessage) -> str | None:
        """Why this mail may not be filed into its list, if it may not. Anyone can write a
        List-Id header, so mail that names a private list there (and was not sent to it by
        `--list`) would let a public archive plant messages among the private ones: it is
        quarantined unless the settings say the list accepts its List-Id."""
        if self.list_name or not parsed.list_id or mailing_list.visibility != "private":
            return None
        declared = self.lists.get(mailing_list.name)
        if declared is not None and declared.accept_list_id:
            return None
        name = mailing_list.name
        return (
            f"List-Id names the private list {name!r}: ingest it with --list {name},"
            f" or set accept_list_id = true under [lists.{name}] in the settings"
        )

    def _load_participants(self, outcomes: list[Outcome]) -> None:
        """One query for the batch's addresses that are not cached yet."""
        wanted = {
            o.parsed.from_address
            for o in outcomes
            if o.parsed is not None and o.parsed.from_address
        } - set(self._participants)
        if wanted:
            rows = self.session.execute(
                select(ParticipantAddress.address, ParticipantAddress.participant_id).where(
                    ParticipantAddress.address.in_(wanted)
                )
            )
            self._participants.update((address, pid) for address, pid in rows)

    def _participant_for(self, parsed: ParsedMessage) -> int | Participant | None:
        """The participant's id, or a new Participant that the next flush inserts."""
        address = parsed.from_address
        if not address:
            return None
        known = self._participants.get(address)
        if known is None:
            known = Participant(display_name=parsed.from_name)
            known.addresses.append(ParticipantAddress(address=address))
            self.session.add(known)
            self._participants[address] = known
        return known

    def _fill(self, message: Message, parsed: ParsedMessage, raw: RawMessage) -> None:
        """Everything a message row holds that comes from one copy of the message. Only
        values that differ are set: a better copy replacing a stored one usually changes
        little, and every attribute set costs an UPDATE column."""
        parent_id, parent_via = header_parent(parsed.references, parsed.in_reply_to)
        if parent_id is None and parsed.thread_parent:
            parent_id, parent_via = parsed.thread_parent, "pipermail-thread"
        offset = None
        if parsed.date is not None:
            delta = parsed.date.utcoffset()
            offset = int(delta.total_seconds() // 60) if delta is not None else 0
        participant = self._participant_for(parsed)
        if isinstance(participant, Participant):
            message.participant = participant
        elif message.participant_id != participant:
            message.participant_id = participant
        values: dict[str, object] = {
            "message_id": parsed.message_id,
            "synthetic_id": parsed.synthetic_id,
            "parent_message_id": parent_id,
            "parent_via": parent_via,
            "in_reply_to": parsed.in_reply_to,
            "references": parsed.references,
            "subject": parsed.subject,
            "subject_key": subject_key(parsed.subject),
            "date_utc": utc_naive(parsed.date),
            "date_offset_minutes": offset,
            "date_source": parsed.date_source,
            "from_name": parsed.from_name,
            "from_address": parsed.from_address,
            "body": parsed.body,
            "attachments": _attachments(parsed),
            "defects": parsed.defects,
            "raw": compress(raw.data),
            "content_hash": parsed.content_hash,
            "source_file": raw.source,
            "source_offset": raw.offset,
            "article_url": _article_url(message.article_url, raw.article_url),
            "ingest_run_id": self.run_id,
        }
        for name, value in values.items():
            if getattr(message, name) != value:
                setattr(message, name, value)

    def _keep_better_copy(self, stored: Message, parsed: ParsedMessage, raw: RawMessage) -> bool:
        """Of two copies of one message keep the better (see ``ingest.copies.copy_rank``);
        the result does not depend on which copy arrived first. Returns whether the stored
        row's parent evidence changed, so that it must be threaded again. A purged copy
        stays a tombstone: no copy of the mail ever brings its text back."""
        if stored.purged:
            return False
        stored.article_url = _article_url(stored.article_url, raw.article_url)
        incoming = copy_rank(
            parsed.from_article, _has_parent_evidence(parsed), parsed.body, parsed.attachments
        )
        current = copy_rank(
            stored.date_source == ARTICLE_DATE_SOURCE,
            stored.parent_via not in (None, "subject"),
            stored.body,
            [Attachment(**a) for a in stored.attachments],
        )
        if incoming > current or (incoming == current and raw.data >= decompress(stored.raw)):
            return False
        before = _threading_inputs(stored)
        self._fill(stored, parsed, raw)
        return _threading_inputs(stored) != before

    def _quarantine(self, raw: RawMessage, reason: str, account: Account) -> None:
        """Keep a rejected message's bytes and reason, on disk and in the database. A message
        over the size limit was spilled to a file as it was read: that file is moved into
        the quarantine as it is, and the database row keeps only its first bytes."""
        reason = storable_text(reason)
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        record: dict[str, object] = {"reason": reason, "source": raw.source, "offset": raw.offset}
        if raw.spilled is None:
            digest = hashlib.sha256(raw.data).hexdigest()
            (self.quarantine_dir / f"{digest}.eml").write_bytes(raw.data)
        else:
            digest = raw.spilled.sha256
            shutil.move(raw.spilled.path, self.quarantine_dir / f"{digest}.eml")
            record["size"] = raw.spilled.size
        (self.quarantine_dir / f"{digest}.json").write_text(json.dumps(record) + "\n")
        exists = self.session.scalar(select(Rejection.id).where(Rejection.raw_sha256 == digest))
        if exists is None:
            self.session.add(
                Rejection(
                    ingest_run_id=self.run_id,
                    reason=reason,
                    source_file=raw.source,
                    source_offset=raw.offset,
                    raw=compress(raw.data),
                    raw_sha256=digest,
                )
            )
            self.session.flush()
        account.count(raw.source, "rejected")
        account.rejections.append({"source": raw.source, "offset": raw.offset, "reason": reason})


def _same_message(copies: list[Message], parsed: ParsedMessage) -> Message | None:
    """The stored copy that `parsed` is a copy of: same content once export artefacts are
    folded away; or any copy when one side is an HTML article page (a rendering of the mail
    with the same Message-ID); or the same sender, subject and date with one body cut short
    of the other."""
    same = next((m for m in copies if m.content_hash == parsed.content_hash), None)
    if same is not None:
        return same
    for message in copies:
        if parsed.from_article or message.date_source == ARTICLE_DATE_SOURCE:
            return message
        if (
            message.from_address == parsed.from_address
            and message.subject == parsed.subject
            and message.date_utc == utc_naive(parsed.date)
            and truncated_copy(message.body, parsed.body)
        ):
            return message
    return None


def utc_naive(date: datetime | None) -> datetime | None:
    """How dates are stored: naive UTC (the sender's offset is kept beside it)."""
    return None if date is None else date.astimezone(UTC).replace(tzinfo=None)


def _has_parent_evidence(parsed: ParsedMessage) -> bool:
    return bool(parsed.references or parsed.in_reply_to or parsed.thread_parent)


def _threading_inputs(message: Message) -> tuple[object, ...]:
    return (
        message.parent_message_id,
        message.parent_via,
        tuple(message.references or ()),
        message.subject_key,
        message.date_utc,
    )


def _article_url(*urls: str | None) -> str | None:
    """Of several article URLs of one message, the same one whatever the order: the highest
    article number, which is the archive's newest build, the one its indexes link."""
    return max((u for u in urls if u), default=None)


def _attachments(parsed: ParsedMessage) -> list[dict[str, object]]:
    return [
        {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
        for a in parsed.attachments
    ]
