"""Storing parsed messages: one atomic batch at a time, every message accounted for.

Each message read becomes exactly one of: stored, duplicate (same list, Message-ID and
content), skipped (the sender asked for no archiving) or rejected (quarantined with its
raw bytes and reason). A batch is one transaction, so a killed ingest leaves whole batches
and a rerun counts what was already stored as duplicates.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    MailingList,
    Message,
    MessageReference,
    Participant,
    ParticipantAddress,
    Rejection,
)
from app.threads import Threader, ancestry, header_parent
from ingest.parse import copy_quality
from ingest.records import ParsedMessage, RawMessage
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
    return zlib.compress(data, 6)


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
    ) -> None:
        self.session = session
        self.quarantine_dir = quarantine_dir
        self.list_name = list_name
        self.subject_window_days = subject_window_days
        self.run_id = run_id
        self._lists: dict[str, MailingList] = {}
        self._participants: dict[str, int] = {}

    def store(self, outcomes: list[Outcome], account: Account) -> set[int]:
        """Store one batch (the caller commits): account for every outcome. Returns the ids
        of the threads that changed, for what is derived from them."""
        new_by_list: dict[int, list[Message]] = {}
        copies_of = self._existing_copies(outcomes)
        for outcome in outcomes:
            raw, parsed = outcome.raw, outcome.parsed
            if parsed is None:
                self._quarantine(raw, outcome.reason or "unknown", account)
                continue
            if parsed.no_archive:
                account.count(raw.source, "skipped")
                continue
            mailing_list = self._list_for(parsed, raw)
            copies = copies_of.setdefault((mailing_list.id, parsed.message_id), [])
            same = next((m for m in copies if m.content_hash == parsed.content_hash), None)
            if same is not None:
                _keep_better_copy(same, parsed, raw)
                account.count(raw.source, "duplicate")
                continue
            message = self._new_message(mailing_list, parsed, raw)
            if copies:
                message.id_conflict = True
                for other in copies:
                    other.id_conflict = True
            copies.append(message)
            new_by_list.setdefault(mailing_list.id, []).append(message)
            account.count(raw.source, "stored")
        self.session.flush()
        touched: set[int] = set()
        for list_id, messages in new_by_list.items():
            self.session.add_all(
                MessageReference(message_pk=m.id, position=i, ref_message_id=ref)
                for m in messages
                for i, ref in enumerate(ancestry(m.references, m.in_reply_to))
            )
            self.session.flush()
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

    def _list_for(self, parsed: ParsedMessage, raw: RawMessage) -> MailingList:
        name = (self.list_name or parsed.list_id or raw.list_hint or "unsorted").lower()
        mailing_list = self._lists.get(name)
        if mailing_list is None:
            mailing_list = self.session.scalar(select(MailingList).where(MailingList.name == name))
            if mailing_list is None:
                mailing_list = MailingList(name=name, visibility="public")
                self.session.add(mailing_list)
                self.session.flush()
            self._lists[name] = mailing_list
        return mailing_list

    def _participant_for(self, parsed: ParsedMessage) -> int | None:
        address = parsed.from_address
        if not address:
            return None
        pid = self._participants.get(address)
        if pid is None:
            pid = self.session.scalar(
                select(ParticipantAddress.participant_id).where(
                    ParticipantAddress.address == address
                )
            )
            if pid is None:
                participant = Participant(display_name=parsed.from_name)
                self.session.add(participant)
                self.session.flush()
                self.session.add(ParticipantAddress(participant_id=participant.id, address=address))
                pid = participant.id
            self._participants[address] = pid
        return pid

    def _new_message(
        self, mailing_list: MailingList, parsed: ParsedMessage, raw: RawMessage
    ) -> Message:
        parent_id, parent_via = header_parent(parsed.references, parsed.in_reply_to)
        date_utc = offset = None
        if parsed.date is not None:
            delta = parsed.date.utcoffset()
            offset = int(delta.total_seconds() // 60) if delta is not None else 0
            date_utc = parsed.date.astimezone(UTC).replace(tzinfo=None)
        message = Message(
            list_id=mailing_list.id,
            message_id=parsed.message_id,
            synthetic_id=parsed.synthetic_id,
            id_conflict=False,
            parent_message_id=parent_id,
            parent_via=parent_via,
            in_reply_to=parsed.in_reply_to,
            references=parsed.references,
            subject=parsed.subject,
            subject_key=subject_key(parsed.subject),
            date_utc=date_utc,
            date_offset_minutes=offset,
            date_source=parsed.date_source,
            participant_id=self._participant_for(parsed),
            from_name=parsed.from_name,
            from_address=parsed.from_address,
            body=parsed.body,
            attachments=_attachments(parsed),
            defects=parsed.defects,
            raw=compress(raw.data),
            content_hash=parsed.content_hash,
            hidden=False,
            source_file=raw.source,
            source_offset=raw.offset,
            article_url=raw.article_url,
            ingest_run_id=self.run_id,
        )
        self.session.add(message)
        return message

    def _quarantine(self, raw: RawMessage, reason: str, account: Account) -> None:
        """Keep a rejected message's bytes and reason, on disk and in the database."""
        digest = hashlib.sha256(raw.data).hexdigest()
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        (self.quarantine_dir / f"{digest}.eml").write_bytes(raw.data)
        (self.quarantine_dir / f"{digest}.json").write_text(
            json.dumps({"reason": reason, "source": raw.source, "offset": raw.offset}) + "\n"
        )
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


def _keep_better_copy(stored: Message, parsed: ParsedMessage, raw: RawMessage) -> None:
    """Of two copies of one message, keep the one that lost less text (e.g. "Jürgen" over
    "J?rgen"); ties keep the smaller raw bytes. The result does not depend on which copy
    arrived first."""
    incoming = (copy_quality(parsed.body), raw.data)
    current = (copy_quality(stored.body), decompress(stored.raw))
    if incoming < current:
        stored.body = parsed.body
        stored.subject = parsed.subject
        stored.from_name = parsed.from_name
        stored.attachments = _attachments(parsed)
        stored.raw = compress(raw.data)
        stored.source_file = raw.source
        stored.source_offset = raw.offset


def _attachments(parsed: ParsedMessage) -> list[dict[str, object]]:
    return [
        {"filename": a.filename, "content_type": a.content_type, "size": a.size}
        for a in parsed.attachments
    ]
