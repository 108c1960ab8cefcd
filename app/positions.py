"""Positions over the database: one machine position per message, each participant's
current position per thread (newest wins, history kept), tallies, and staff overrides.

Extraction itself is pure (``ingest.segments``, ``ingest.stance``); this module adds what
needs the thread: which ancestor message a quoted block comes from, which participant an
attribution line names, and who a quote is from when its attribution line is missing (the
parent's author, or the grandparent's for a quote inside a quote).

``derive_positions`` is called by the ingestion for the threads touched since its last
step (after the batches that stored them, before they are indexed: index documents carry
positions), and by ``quorum positions recompute``. It is idempotent: running it
twice, or after a thread merge, leaves the same rows. Staff overrides live in their own
table and are never written here, so recomputation cannot overwrite them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audience import EVERYTHING, Audience, participant_names
from app.models import (
    MailingList,
    Message,
    ParticipantAddress,
    Position,
    PositionOverride,
    Thread,
    utcnow,
)
from ingest.segments import Segment, own_text, segment_body
from ingest.stance import Stance, StanceName, extract_stance, own_sentences
from ingest.stance_features import StanceContext, featurize
from ingest.stance_model import DECISIVE, StanceModel

#: Besides the decisive stances, these replace a participant's earlier position in a
#: thread. A later message with no cue (a question, a side remark) does not undo a "+1"
#: given before.
_EXPLICIT_NEUTRAL_METHODS = frozenset(("vote-withdrawn", "vote-vote", "cue-neutral"))
_WORDS = re.compile(r"\w+")
#: Threads up to this size are searched whole for the source of a quote, not only the
#: ancestors of the quoting message (the search is linear in the thread's size).
_SEARCH_WHOLE_THREAD_UP_TO = 100


@dataclass(frozen=True, slots=True)
class QuotedSource:
    """Whom one quoted segment is from: a person, and the stored message when found."""

    segment: int  # index into segment_body(body)
    depth: int
    author: str | None
    participant_id: int | None
    message_id: str | None
    via: str  # "quoted-text", "attribution", "parent" or "unknown"

    def as_dict(self) -> dict[str, object]:
        return {
            "segment": self.segment,
            "depth": self.depth,
            "author": self.author,
            "participant_id": self.participant_id,
            "message_id": self.message_id,
            "via": self.via,
        }


@dataclass(slots=True)
class _MessageView:
    """What resolution needs of a thread member, loaded once per thread."""

    pk: int
    message_id: str
    parent_id: str | None
    participant_id: int | None
    author: str  # the From name as this message gives it, else its address
    body: str
    segments: list[Segment] = field(default_factory=list)
    _own_words: str | None = None

    @property
    def own_words(self) -> str:
        """The author's own words, lowercased and without punctuation, for quote lookup."""
        if self._own_words is None:
            self._own_words = " ".join(_WORDS.findall(own_text(self.segments).lower()))
        return self._own_words


#: The model shipped with Quorum, trained on the hand-labelled replies of the stance set.
SHIPPED_MODEL = Path(str(resources.files("app") / "stance_data" / "model.npz"))
_loaded: dict[tuple[Path, float], StanceModel] = {}


#: Threads whose messages are held in memory at once while positions are derived.
THREADS_AT_ONCE = 200


def model_path(home: Path) -> Path:
    """Where ``quorum positions train`` writes an install's own model."""
    return home / "models" / "stance.npz"


def active_model_path(home: Path) -> Path:
    """The install's own model when it trained one, else the shipped one."""
    own = model_path(home)
    return own if own.exists() else SHIPPED_MODEL


def active_model(home: Path) -> StanceModel:
    """The model at ``active_model_path``. Loaded once per process and file version (a
    retrained model is picked up without a restart)."""
    path = active_model_path(home)
    key = (path, path.stat().st_mtime)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = StanceModel.load(path)
    return _loaded[key]


def derive_positions(session: Session, thread_ids: Iterable[int], model: StanceModel) -> int:
    """(Re)compute the machine position of every message in the given threads with
    ``model``; returns the number of messages processed. Rows are updated in place, so the
    result is the same however often it runs. Threads are read a few hundred at a time
    and their rows flushed, so memory stays bounded however many threads are given (an
    ingest step touches thousands)."""
    ids = sorted(set(thread_ids))
    count = 0
    for start in range(0, len(ids), THREADS_AT_ONCE):
        count += _derive(session, ids[start : start + THREADS_AT_ONCE], model)
        session.flush()
    return count


def _derive(session: Session, ids: list[int], model: StanceModel) -> int:
    existing = {
        p.message_pk: p
        for p in session.scalars(
            select(Position)
            .join(Message, Message.id == Position.message_pk)
            .where(Message.thread_id.in_(ids))
        )
    }
    threads = load_threads(session, ids)
    addresses = _address_owners(session, {t.thread_id: t.members for t in threads})
    count = 0
    for thread in threads:
        contexts = stance_contexts(thread)
        ordered = [contexts[m.pk] for m in thread.members]
        found = model.positions([featurize(c) for c in ordered], ordered)
        for member, stance in zip(thread.members, found, strict=True):
            quoted = resolve_quotes(member, thread.by_id, addresses)
            _store(session, existing.get(member.pk), member, thread.thread_id, stance, quoted)
            count += 1
    return count


@dataclass(slots=True)
class ThreadView:
    """A thread's members as position derivation reads them, and which one opened it."""

    thread_id: int
    key: str
    members: list[_MessageView]
    by_id: dict[str, _MessageView]

    @property
    def root(self) -> _MessageView | None:
        return self.by_id.get(self.key)


def load_threads(session: Session, thread_ids: list[int]) -> list[ThreadView]:
    """The given threads with their members in date order, each body segmented once."""
    rows = session.execute(
        select(
            Message.id,
            Message.thread_id,
            Message.message_id,
            Message.parent_message_id,
            Message.participant_id,
            Message.from_name,
            Message.from_address,
            Message.body,
            Message.date_utc,
        )
        .where(Message.thread_id.in_(thread_ids))
        .order_by(Message.date_utc.is_(None), Message.date_utc, Message.id)
    )
    members: dict[int, list[_MessageView]] = {}
    for row in rows:
        members.setdefault(row.thread_id, []).append(
            _MessageView(
                row.id,
                row.message_id,
                row.parent_message_id,
                row.participant_id,
                row.from_name or row.from_address,
                row.body,
                segment_body(row.body),
            )
        )
    keys = dict(
        session.execute(select(Thread.id, Thread.key).where(Thread.id.in_(thread_ids))).all()
    )
    return [
        ThreadView(tid, keys.get(tid, ""), ms, {m.message_id: m for m in ms})
        for tid, ms in sorted(members.items())
    ]


def stance_contexts(thread: ThreadView) -> dict[int, StanceContext]:
    """What the classifier reads of each member: its own words, the rules' reading of them,
    and its relation to the proposal and to the message it answers. Training builds its
    examples through this same function, so a model sees at run time what it learnt on."""
    root = thread.root
    proposer = root.participant_id if root is not None else None
    rules = {m.pk: extract_stance(m.body, m.segments) for m in thread.members}
    root_own = own_text(root.segments) if root is not None else ""
    contexts: dict[int, StanceContext] = {}
    seen: Counter[int | None] = Counter()
    for rank, member in enumerate(thread.members):
        parent = thread.by_id.get(member.parent_id or "")
        earlier = seen[member.participant_id]
        seen[member.participant_id] += 1
        contexts[member.pk] = StanceContext(
            body=member.body,
            sentences=tuple(own_sentences(member.segments)),
            own=own_text(member.segments),
            parent_own=own_text(parent.segments) if parent is not None else "",
            root_own=root_own,
            is_root=member is root,
            by_proposer=proposer is not None and member.participant_id == proposer,
            answers_proposer=parent is None or parent.participant_id == proposer,
            depth=len(_ancestors(member, thread.by_id)),
            rank=rank,
            earlier_by_author=earlier,
            participants=len(seen),
            quoted_lines=sum(
                s.end_line - s.start_line for s in member.segments if s.kind == "quoted"
            ),
            rule=rules[member.pk],
            parent_rule=rules[parent.pk] if parent is not None else None,
        )
    return contexts


def resolve_quotes(
    member: _MessageView, thread: dict[str, _MessageView], addresses: dict[str, int]
) -> list[QuotedSource]:
    """Whom each quoted segment of ``member`` is from.

    The words themselves are the best witness: the nearest ancestor (else, in a small
    thread, any other message) whose own text holds the quote's first words wrote it
    (this also catches people quoting themselves and attribution lines that name the
    wrong person). Otherwise the attribution line names the person (mapped to a
    participant by address or name); otherwise a quote at depth d is taken from the d-th
    ancestor. Names are given as the quoted message wrote its From."""
    ancestors = _ancestors(member, thread)
    # People also quote messages of other branches; in small threads look there too.
    others = (
        [m for m in thread.values() if m is not member and m not in ancestors]
        if len(thread) <= _SEARCH_WHOLE_THREAD_UP_TO
        else []
    )
    sources: list[QuotedSource] = []
    for index, segment in enumerate(member.segments):
        if segment.kind != "quoted":
            continue
        origin = _origin(segment.text, ancestors) or _origin(segment.text, others)
        via = "quoted-text"
        if origin is None and (segment.quoted_author or segment.quoted_address):
            via = "attribution"
            pid = addresses.get(segment.quoted_address or "") or _participant_named(
                segment.quoted_author or "", ancestors, thread
            )
            origin = next((m for m in ancestors if pid and m.participant_id == pid), None)
            if origin is None:
                name = segment.quoted_author or segment.quoted_address
                sources.append(QuotedSource(index, segment.depth, name, pid, None, via))
                continue
        elif origin is None:
            via = "parent"
            origin = ancestors[segment.depth - 1] if len(ancestors) >= segment.depth else None
        if origin is None:
            sources.append(QuotedSource(index, segment.depth, None, None, None, "unknown"))
            continue
        sources.append(
            QuotedSource(
                index,
                segment.depth,
                origin.author,
                origin.participant_id,
                origin.message_id if via != "attribution" else None,
                via,
            )
        )
    return sources


def _ancestors(member: _MessageView, thread: dict[str, _MessageView]) -> list[_MessageView]:
    chain: list[_MessageView] = []
    seen = {member.message_id}
    current = thread.get(member.parent_id or "")
    while current is not None and current.message_id not in seen:
        chain.append(current)
        seen.add(current.message_id)
        current = thread.get(current.parent_id or "")
    return chain


def _origin(text: str, ancestors: list[_MessageView]) -> _MessageView | None:
    """The nearest ancestor whose own words hold the quote's first words (re-wrapped
    quotes still match: whitespace, case and punctuation are ignored)."""
    words = _WORDS.findall(text.lower())[:12]
    if len(words) < 4:
        return None
    needle = " ".join(words)
    return next((a for a in ancestors if needle in a.own_words), None)


def _participant_named(
    name: str, ancestors: list[_MessageView], thread: dict[str, _MessageView]
) -> int | None:
    wanted = name.casefold()
    if not wanted:
        return None
    for member in [*ancestors, *thread.values()]:
        if member.participant_id is not None and member.author.casefold() == wanted:
            return member.participant_id
    return None


def _store(
    session: Session,
    row: Position | None,
    member: _MessageView,
    thread_id: int,
    stance: Stance,
    quoted: list[QuotedSource],
) -> None:
    values = {
        "participant_id": member.participant_id,
        "thread_id": thread_id,
        "stance": stance.stance,
        "vote": stance.vote,
        "evidence": stance.evidence,
        "evidence_start": stance.evidence_start,
        "evidence_end": stance.evidence_end,
        "confidence": stance.confidence,
        "method": stance.method,
        "unsure": stance.unsure,
        "quoted": [q.as_dict() for q in quoted],
    }
    if row is None:
        session.add(Position(message_pk=member.pk, computed_at=utcnow(), **values))
        return
    if any(getattr(row, key) != value for key, value in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        row.computed_at = utcnow()


def _address_owners(session: Session, threads: dict[int, list[_MessageView]]) -> dict[str, int]:
    """Address → participant for the thread members (attribution lines often give one)."""
    pids = {m.participant_id for ms in threads.values() for m in ms if m.participant_id}
    if not pids:
        return {}
    rows = session.execute(
        select(ParticipantAddress.address, ParticipantAddress.participant_id).where(
            ParticipantAddress.participant_id.in_(pids)
        )
    )
    return {address.lower(): pid for address, pid in rows}


def recompute(
    session: Session, model: StanceModel, list_name: str | None = None, batch: int = 500
) -> int:
    """Rerun extraction over every stored thread (of one list) with ``model``; returns
    messages processed. Staff corrections live in their own table and stay."""
    query = select(Thread.id).order_by(Thread.id)
    if list_name:
        query = query.join(MailingList, MailingList.id == Thread.list_id).where(
            MailingList.name == list_name
        )
    thread_ids = list(session.scalars(query))
    done = 0
    for start in range(0, len(thread_ids), batch):
        done += derive_positions(session, thread_ids[start : start + batch], model)
        session.commit()
    return done


# -- per-thread summaries -------------------------------------------------------------------


@dataclass(slots=True)
class ParticipantPosition:
    """A participant's current position in a thread and the messages that led to it."""

    participant_id: int
    name: str
    stance: StanceName
    vote: str | None
    evidence: str | None
    message_id: str | None  # the message the current position comes from
    source: str  # "machine" or "staff"
    history: list[dict[str, object]] = field(default_factory=list)
    decisive: bool = False  # the current machine position is one that replaces earlier ones
    #: The model abstained on the current machine position: ``stance`` is only its best
    #: guess, so tallies leave it out until staff confirm or correct it.
    unsure: bool = False
    confidence: float | None = None  # of the current machine position
    #: The stored message the current machine position comes from: what staff judge when
    #: they confirm or correct it (it stays set under a staff correction).
    message_pk: int | None = None


@dataclass(slots=True)
class Tally:
    stances: dict[StanceName, int]
    votes: dict[str, int]
    #: Participants left out of the counts because the model abstained on their position.
    unsure: int = 0


def thread_positions(
    session: Session, thread_id: int, audience: Audience = EVERYTHING
) -> list[ParticipantPosition]:
    """Each participant's current position in the thread: a staff override if there is
    one, else their newest decisive machine position (support, oppose, concern, or an
    explicit abstention or withdrawal), else their newest position of any kind.

    For `audience` (e.g. app.access.reader()), the positions of messages they may not
    read are left out (their evidence quotes them), and participants are named as they
    may see them (app.audience.participant_names)."""
    rows = session.execute(
        select(Position, Message.message_id, Message.date_utc)
        .join(Message, Message.id == Position.message_pk)
        .where(
            Position.thread_id == thread_id,
            Position.participant_id.is_not(None),
            audience.messages,
        )
        .order_by(Message.date_utc.is_(None), Message.date_utc, Message.message_id)
    ).all()
    people: dict[int, ParticipantPosition] = {}
    for position, message_id, date in rows:
        pid = position.participant_id
        assert pid is not None
        entry = people.setdefault(
            pid, ParticipantPosition(pid, "", "none", None, None, None, "machine")
        )
        entry.history.append(
            {
                "message_id": message_id,
                "date": date.isoformat() if date else None,
                "stance": position.stance,
                "vote": position.vote,
                "evidence": position.evidence,
                "confidence": position.confidence,
                "method": position.method,
                "unsure": position.unsure,
            }
        )
        replaces = position.stance in DECISIVE or position.method in _EXPLICIT_NEUTRAL_METHODS
        informative = position.stance != "none" or entry.stance == "none"
        if replaces or (not entry.decisive and informative):
            entry.stance, entry.vote = position.stance, position.vote
            entry.evidence, entry.message_id = position.evidence, message_id
            entry.decisive, entry.unsure = replaces, position.unsure
            entry.confidence, entry.message_pk = position.confidence, position.message_pk
    for override in session.scalars(
        select(PositionOverride).where(PositionOverride.thread_id == thread_id)
    ):
        entry = people.setdefault(
            override.participant_id,
            ParticipantPosition(override.participant_id, "", "none", None, None, None, "machine"),
        )
        if override.stance != entry.stance:  # a confirmation keeps the machine's quote
            entry.evidence = override.note or entry.evidence
        entry.stance, entry.vote, entry.source = override.stance, override.vote, "staff"
        entry.unsure = False  # staff's word is never a guess
    names = participant_names(session, audience, list(people))
    for entry in people.values():
        entry.name = names.get(entry.participant_id, "")
    return sorted(people.values(), key=lambda p: (p.name.casefold(), p.participant_id))


def tally(positions: list[ParticipantPosition]) -> Tally:
    """Counts of current stances and votes (one per participant). An unsure position is
    only counted as unsure: a best guess must not tip a count that reads as a claim."""
    sure = [p for p in positions if not p.unsure]
    return Tally(
        stances=dict(Counter(p.stance for p in sure)),
        votes=dict(Counter(p.vote for p in sure if p.vote)),
        unsure=len(positions) - len(sure),
    )
