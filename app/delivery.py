"""`quorum deliver`: one message from the mail server, stored at once.

A mail server pipes each message to a command and reads its exit status the way sendmail
does: 0 means the message is taken care of, 75 (EX_TEMPFAIL) means "keep it and try again
later". So a message that cannot be stored now (the database is locked, unwritable or
down) must never end in 0, and a message that is stored, a duplicate, asked not to be
archived, or quarantined as unreadable must end in 0: it is accounted for, and a retry
would only deliver it again.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from app.ingestion import Ingestion
from app.message_store import Account
from app.settings import Settings
from ingest.records import SizeLimit
from ingest.sources.single import read_delivered

#: sysexits.h: a temporary failure, the sender should retry (mail servers queue the message).
EX_TEMPFAIL = 75
#: Where a delivered message says it came from, in the account and on the stored row.
DELIVERED_SOURCE = "deliver"


def deliver(
    sessions: sessionmaker[Session], settings: Settings, stream: BinaryIO, list_name: str
) -> Account:
    """Read one message from ``stream`` and store it into ``list_name`` through the one
    ingest path: accounted, threaded, positions derived and searchable on return. Any
    exception means nothing was acknowledged: the caller answers EX_TEMPFAIL."""
    limit = SizeLimit(settings.ingest.max_message_bytes, settings.quarantine_dir)
    raw = read_delivered(stream, DELIVERED_SOURCE, list_name, limit)
    with sessions() as session:
        ingestion = Ingestion(session, settings, [DELIVERED_SOURCE], list_name.lower())
        try:
            ingestion.add([raw])
            return ingestion.finish()
        except BaseException:
            ingestion.abandon()
            raise
