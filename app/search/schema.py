"""The Whoosh schema: one document per stored message.

Own text and quoted text are separate fields so that a plain query searches what the author
wrote (and the subject) while ``quoted:`` searches what they quoted on purpose. Dates are
also indexed as coarse ``year``/``month``/``day`` keywords: a keyword term costs about a
millisecond where a Whoosh date range costs tens, so every date form of the query language
is turned into a union of such terms (see ``app.search.dates``).
"""

from __future__ import annotations

from whoosh.analysis import IDTokenizer, LowercaseFilter, StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

#: Bumped whenever a field changes: an index of another version must be rebuilt.
SCHEMA_VERSION = "3"

#: Fields a query without a field name searches, with their weights: `text` holds the
#: subject (twice, for weight) and the author's own words. One field, not a union of two:
#: Whoosh scores a union of per-field terms several times slower than a single term.
DEFAULT_FIELDS = {"text": 1.0}


def build_schema() -> Schema:
    # Words split at dots too: "reactor.run()" is found by "reactor", and the query
    # "reactor.run" becomes the phrase "reactor run" (multitoken_query), as it should.
    words = StemmingAnalyzer(expression=r"\w+")
    # Names people type in any case ("list:Twisted-Python"); Message-IDs stay exact.
    name = IDTokenizer() | LowercaseFilter()
    return Schema(
        # Identity: the message's database id is the unique key documents are replaced by.
        pk=ID(stored=True, unique=True),
        message_id=ID(stored=True),
        # Sortable fields feed facets and grouping: every document carries all of them
        # (empty when unknown) so that each segment has every column.
        thread=ID(stored=True, sortable=True),
        thread_key=ID(stored=True),
        list=ID(stored=True, sortable=True, analyzer=name),
        # Text: what the author wrote, what they quoted, the subject, the sender.
        # Spelling suggestions come from subject words: a spelling copy of the bodies would
        # double the postings written, and subjects carry a list's vocabulary well enough.
        # The subject as shown (`title`) and as searched (`subject`: list tags removed, or
        # "[Twisted-Python]" would make "twisted" match every message of that list).
        title=STORED(),
        subject=TEXT(analyzer=words, spelling=True, multitoken_query="phrase"),
        text=TEXT(analyzer=words, multitoken_query="phrase"),
        own=STORED(),  # for snippets
        quoted=TEXT(analyzer=words, multitoken_query="phrase"),
        sender=TEXT(),
        from_name=STORED(),
        author=ID(sortable=True),
        # Time: the ISO date to show, a sortable timestamp (UTC seconds; 0 when unknown) for
        # newest/oldest, and keywords for cheap filters.
        date=STORED(),
        ts=NUMERIC(bits=64, signed=True, sortable=True),
        year=ID(sortable=True),
        month=ID(),
        day=ID(),
        # What the message says and what it informed (positions, tags, decisions).
        stance=ID(stored=True, sortable=True, analyzer=name),
        vote=ID(stored=True),
        tag=KEYWORD(lowercase=True, commas=True),
        decision=KEYWORD(lowercase=True, commas=True),
        has=KEYWORD(lowercase=True),
        hidden=ID(),
    )
