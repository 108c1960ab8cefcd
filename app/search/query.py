"""The query language: Whoosh's syntax (AND/OR/NOT, parentheses, "phrases", prefix*,
-term) plus the fields and aliases people type, dates as they write them, and Message-IDs.

`parse_query` either returns a Whoosh query or raises `QueryError`, whose message says what
was wrong and shows an example: a bad query is a message for the user, never a crash.
"""

from __future__ import annotations

import fnmatch
import re

from whoosh.fields import Schema
from whoosh.qparser import (
    FieldAliasPlugin,
    MultifieldParser,
    OperatorsPlugin,
    TaggingPlugin,
    syntax,
)
from whoosh.query import And, MultiTerm, NullQuery, Or, Query, Term, Wildcard
from whoosh.reading import IndexReader

from app.models import STANCES
from app.search.dates import DateSyntaxError, span, span_query
from app.search.schema import DEFAULT_FIELDS
from app.settings import SearchSettings

#: What people type → the field it searches.
ALIASES = {
    "sender": ["from", "f"],
    "subject": ["s"],
    "list": ["l"],
    "quoted": ["q"],
}
#: Field names a query may use (besides the aliases above and the date words).
FIELDS = ("subject", "quoted", "list", "stance", "vote", "tag", "decision", "thread", "has")
DATE_WORDS = ("date", "after", "before")
HAS_VALUES = ("attachment",)
#: A prefix*, wild*card or [range] matches at most this many words, the most frequent ones:
#: Whoosh scores a union of hundreds of terms (twist* → 300 words) in seconds.
MAX_EXPANSIONS = 32
EXAMPLE = 'interoperability from:troy date:2014-02 "simpler first steps"'

_KNOWN = {*FIELDS, *DATE_WORDS, *(a for names in ALIASES.values() for a in names)}
_UNFIELDED = "*any*"
_QUOTED = re.compile(r'"[^"]*"?')
_FIELD_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*):(?!//)")


class QueryError(ValueError):
    """A query that cannot be run; str() is a sentence for the user, with an example."""


class _DateNode(syntax.SyntaxNode):  # type: ignore[misc]  # Whoosh is untyped
    """``date:…``, ``after:…`` or ``before:…``: a union of coarse date keywords."""

    def __init__(self, kind: str, value: str) -> None:
        self.kind = kind.lower()
        self.value = value

    def r(self) -> str:
        return f"{self.kind}:{self.value}"

    def query(self, parser: MultifieldParser) -> Query:
        try:
            return span_query(*span(self.kind, self.value, parser.quorum_years))
        except DateSyntaxError as exc:
            raise QueryError(f"{self.kind}:{self.value} — {exc}") from exc


class _DatePlugin(TaggingPlugin):  # type: ignore[misc]  # Whoosh is untyped
    expr = r"(?P<kind>(?i:date|after|before)):(?P<value>[^\s()]+)"
    nodetype = _DateNode
    priority = -1  # before the field-name tagger would take "date:" as a field


class _MessageIdNode(syntax.SyntaxNode):  # type: ignore[misc]  # Whoosh is untyped
    """A Message-ID, ``<…>`` or bare (``local@host``). Alone it finds that message (or the
    sender with that address); after ``thread:`` it names the thread by its root."""

    has_fieldname = True
    has_boost = True

    def __init__(self, bracketed: str | None = None, bare: str | None = None) -> None:
        self.mid = f"<{bracketed or bare}>"
        self.bare = bare
        self.fieldname: str | None = None
        self.boost = 1.0

    def r(self) -> str:
        return self.mid

    def query(self, parser: MultifieldParser) -> Query:
        if self.fieldname == "thread":
            return Term("thread_key", self.mid)
        by_id = Term("message_id", self.mid, boost=self.boost * 10)
        if self.fieldname not in (_UNFIELDED, "sender") or self.bare is None:
            return by_id
        # A bare "someone@example.org" may be an address as well as a Message-ID.
        words = [t.text for t in parser.schema["sender"].analyzer(self.bare)]
        by_sender = And([Term("sender", w) for w in words]) if words else NullQuery
        return by_sender if self.fieldname == "sender" else Or([by_id, by_sender])


class _MessageIdPlugin(TaggingPlugin):  # type: ignore[misc]  # Whoosh is untyped
    expr = r"<(?P<bracketed>[^<>\s]+)>|(?P<bare>[^\s()<>\":]+@[^\s()<>\"]+)"
    nodetype = _MessageIdNode
    priority = -1

    def filters(self, parser: MultifieldParser) -> list[tuple[object, int]]:
        # After explicit field names (100), before the default fields are spread (110):
        # an unfielded Message-ID is looked up once, not once per default field.
        return [(self._claim_unfielded, 105)]

    def _claim_unfielded(self, parser: MultifieldParser, group: syntax.GroupNode) -> object:
        for node in group:
            if isinstance(node, syntax.GroupNode):
                self._claim_unfielded(parser, node)
            elif isinstance(node, _MessageIdNode) and node.fieldname is None:
                node.fieldname = _UNFIELDED
        return group


def make_parser(schema: Schema, years: tuple[int, int]) -> MultifieldParser:
    """A parser for `schema`; `years` bounds open date ranges (the years the index holds)."""
    parser = MultifieldParser(list(DEFAULT_FIELDS), schema, fieldboosts=DEFAULT_FIELDS)
    parser.quorum_years = years
    parser.add_plugin(FieldAliasPlugin(ALIASES))
    parser.add_plugin(_DatePlugin())
    parser.add_plugin(_MessageIdPlugin())
    # "-term" excludes, like NOT, when it starts a word.
    parser.replace_plugin(OperatorsPlugin(Not=r"(^|(?<=(\s|[()])))(NOT(?=\s)|-(?=[^\s-]))"))
    return parser


def parse_query(parser: MultifieldParser, text: str) -> Query:
    """The Whoosh query for `text`, or QueryError saying what to change."""
    if not text.strip():
        raise QueryError(f"Type something to search for, for example: {EXAMPLE}")
    unquoted = _QUOTED.sub(" ", text)
    for name in _FIELD_NAME.findall(unquoted):
        if name.lower() not in _KNOWN:
            raise QueryError(
                f"There is no field {name}:. Fields are "
                + ", ".join(f"{f}:" for f in sorted(_KNOWN))
                + f". For example: {EXAMPLE}"
            )
    try:
        query = parser.parse(text)
    except QueryError:
        raise
    except Exception as exc:  # Whoosh's parser has no error type of its own
        raise QueryError(f"Quorum could not read this query ({exc}). Try: {EXAMPLE}") from exc
    if query is NullQuery:
        raise QueryError(
            f"{text.strip()!r} leaves nothing to search for (only very common words or "
            f"operators?). Try: {EXAMPLE}"
        )
    _check_values(query)
    return query


def _check_values(query: Query) -> None:
    """Closed vocabularies get a precise message instead of silently matching nothing."""
    for fieldname, value in query.iter_all_terms():
        text = value.decode() if isinstance(value, bytes) else str(value)
        if fieldname == "stance" and text not in STANCES:
            raise QueryError(
                f"stance:{text} is not a stance; use one of "
                + ", ".join(f"stance:{s}" for s in STANCES)
            )
        if fieldname == "has" and text not in HAS_VALUES:
            raise QueryError(f"has:{text} is not known; use has:attachment")


class _ScanBudget:
    """The indexed words one query's expansions may still look through (``[search]
    max_scanned_words``): a wildcard is matched against every word that starts with its
    literal prefix, so ``*xy*`` walks the whole vocabulary, and a few hundred of them took
    20 s. Spent word by word, so a query over budget stops as soon as it runs out."""

    def __init__(self, words: int) -> None:
        self.limit = words
        self.left = words

    def spend(self, pattern: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise QueryError(
                f"{pattern} and the query's other wildcards would look through more than "
                f"{self.limit:,} indexed words. A pattern that starts with * or ? looks "
                "through every word: start each pattern with a few letters (interop*), "
                f"use fewer patterns, or search for whole words. For example: {EXAMPLE}"
            )


def _expansions(node: MultiTerm, reader: IndexReader, budget: _ScanBudget) -> list[str]:
    """The indexed words `node` matches, paying for every word looked at. A wildcard is
    matched here against the words after its literal prefix; any other expansion (a prefix,
    a range) looks at exactly the words it yields."""
    if isinstance(node, Wildcard):
        literal = re.split(r"[*?\[]", node.text, maxsplit=1)[0]
        pattern = re.compile(fnmatch.translate(node.text))
        found = []
        for raw in reader.expand_prefix(node.fieldname, literal):
            budget.spend(node.text)
            word = raw.decode()
            if pattern.match(word):
                found.append(word)
        return found
    found = []
    for _field, text in node.expanded_terms(reader):
        budget.spend(node.text)
        found.append(text.decode() if isinstance(text, bytes) else text)
    return found


def bound_expansions(
    query: Query, reader: IndexReader, limits: SearchSettings | None = None
) -> Query:
    """`query` with each prefix, wildcard or range replaced by its MAX_EXPANSIONS most
    frequent words; QueryError when expanding it would cost more than `limits` allow (words
    looked through) or leave more words to search than they allow (``[search] max_terms``:
    each word is a posting list to read and an array to combine)."""
    limits = limits or SearchSettings()
    budget = _ScanBudget(limits.max_scanned_words)

    def visit(node: Query) -> Query:
        if not isinstance(node, MultiTerm):
            return node
        words = _expansions(node, reader, budget)
        words.sort(key=lambda word: -reader.doc_frequency(node.fieldname, word))
        terms = [Term(node.fieldname, word, boost=node.boost) for word in words[:MAX_EXPANSIONS]]
        return Or(terms) if terms else NullQuery

    bounded = query.accept(visit)
    searched = sum(1 for _term in bounded.iter_all_terms())
    if searched > limits.max_terms:
        raise QueryError(
            f"This query searches {searched} words once its wildcards and ranges are "
            f"expanded (each to its {MAX_EXPANSIONS} most frequent matches); at most "
            f"{limits.max_terms} are allowed. Use fewer words or patterns, or longer "
            f"prefixes. For example: {EXAMPLE}"
        )
    return bounded
