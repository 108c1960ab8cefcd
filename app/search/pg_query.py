"""The query language on PostgreSQL: the very parser of the Whoosh backend
(``app.search.query``: fields, aliases, phrases, prefixes, dates, Message-IDs, negation and
its error messages), its parsed query turned into one SQL condition.

Words are parsed unstemmed (``\\w+``, lower case): each list's text-search configuration
stems them and drops its stop words, as it did when the vector was built. The text parts
of a query become one ``tsquery`` where the boolean structure allows it (``a b -c`` is
``a & b & !c``, answered by one GIN scan) on the vector of the field it names
(``app.models.search``: plain words and ``subject:`` the document vector, where the
subject is weight A and own text B; ``quoted:`` and ``from:`` vectors of their own).
Everything else is a condition on the facts kept beside the vectors (list, stance, vote,
dates, attachments, thread: ``app.models.search``, in step with every change) or on the live
tables (tags, decisions, Message-IDs, thread keys), so staff changes count at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from whoosh.analysis import LowercaseFilter, RegexTokenizer
from whoosh.fields import TEXT, Schema
from whoosh.lang.porter import stem
from whoosh.qparser import MultifieldParser
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    Every,
    Not,
    NullQuery,
    Or,
    Phrase,
    Prefix,
    Query,
    Require,
    Term,
    Wildcard,
)

from app.models import (
    Decision,
    DecisionLink,
    MailingList,
    Message,
    SearchDocument,
    Tag,
    Thread,
    thread_tags,
)
from app.search.dates import DateSyntaxError, span
from app.search.query import EXAMPLE, QueryError, _DateNode, _DatePlugin, make_parser
from app.search.schema import build_schema
from app.settings import SearchSettings

#: Keyword fields matched exactly (Message-IDs are case-sensitive and indexed).
_EXACT = ("message_id", "thread_key")
#: Each text field: the vector it searches, and the weight its words must have there (the
#: subject is weight A of the document vector, own text B; "": any).
VECTORS = {
    "text": ("document", ""),
    "subject": ("document", "A"),
    "quoted": ("quoted", ""),
    "sender": ("sender", ""),
}
#: Open date ranges run to the ends of the calendar (no index to ask for its years).
YEARS = (date.min.year, date.max.year)


class _DateSpan(Query):  # type: ignore[misc]  # Whoosh is untyped
    """``date:``/``after:``/``before:`` as a span of days (a leaf the SQL compiler reads)."""

    def __init__(self, start: date, end: date) -> None:
        self.fieldname = "date"  # Whoosh's normalisation groups leaves by field
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"_DateSpan({self.start}, {self.end})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DateSpan) and (other.start, other.end) == (self.start, self.end)

    def __hash__(self) -> int:
        return hash((_DateSpan, self.start, self.end))


class _DateSpanNode(_DateNode):
    def query(self, parser: MultifieldParser) -> Query:
        try:
            return _DateSpan(*span(self.kind, self.value, YEARS))
        except DateSyntaxError as exc:
            raise QueryError(f"{self.kind}:{self.value} — {exc}") from exc


class _DateSpanPlugin(_DatePlugin):
    nodetype = _DateSpanNode


def make_pg_parser() -> MultifieldParser:
    """The Whoosh backend's parser over the same fields, text words left unstemmed and
    dates kept as spans."""
    schema: Schema = build_schema()
    words = RegexTokenizer(r"\w+") | LowercaseFilter()
    for name in VECTORS:
        schema.remove(name)
        schema.add(
            name, TEXT(analyzer=words, multitoken_query="default" if name == "sender" else "phrase")
        )
    parser = make_parser(schema, YEARS)
    parser.remove_plugin_class(_DatePlugin)
    parser.add_plugin(_DateSpanPlugin())
    return parser


@dataclass(frozen=True)
class _Words:
    """Part of a tsquery over one of the message's vectors (`column`), not yet bound to a
    configuration."""

    text: str
    column: str


_Cond = _Words | ColumnElement[bool]


@dataclass
class Compiled:
    """A parsed query as SQL: the condition (vectors and live tables), the tsquery its
    ranking uses for each vector (empty: nothing to rank by), and what snippets mark."""

    condition: ColumnElement[bool]
    ranking: dict[str, str]
    stems: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)


class Compiler:
    """Turns one parsed query into SQL for documents built with `configs` (the lists'
    text-search configurations)."""

    def __init__(self, configs: list[str], limits: SearchSettings) -> None:
        self.configs = sorted(configs) or ["simple"]
        self.limits = limits
        self._positive: dict[str, list[str]] = {}
        self._stems: set[str] = set()
        self._prefixes: set[str] = set()

    def compile(self, query: Query) -> Compiled:
        leaves = sum(1 for _ in query.leaves())
        if leaves > self.limits.max_terms:
            raise QueryError(
                f"This query searches {leaves} words; at most {self.limits.max_terms} are"
                f" allowed. Use fewer words. For example: {EXAMPLE}"
            )
        condition = self._sql(self._visit(query, positive=True))
        ranking = {column: " | ".join(words) for column, words in self._positive.items()}
        return Compiled(condition, ranking, self._stems, self._prefixes)

    def matches(self, words: _Words) -> ColumnElement[bool]:
        """The vector matches the tsquery, parsed with the configuration it was built with."""
        vector = SearchDocument.__table__.c[words.column]
        branches = [
            vector.op("@@")(func.to_tsquery(cast(literal(c), REGCONFIG), words.text))
            for c in self.configs
        ]
        if len(branches) == 1:
            return branches[0]
        return or_(
            *(
                and_(SearchDocument.config == c, b)
                for c, b in zip(self.configs, branches, strict=True)
            )
        )

    def rank(self, ranking: dict[str, str]) -> ColumnElement[float]:
        """The sum over the vectors of their ts_rank against the query's words for them
        (ts_rank's weights: subject A 1.0, own text B 0.4, quoted C 0.2, sender D 0.1;
        each divided by 1 + log of the vector's length). Each tsquery is a subquery, so it
        is parsed once per search rather than once per ranked row."""
        if not ranking:
            return literal(0.0)
        total: ColumnElement[float] | None = None
        for column, tsquery in sorted(ranking.items()):
            vector = SearchDocument.__table__.c[column]
            ranks = {
                c: func.ts_rank(
                    vector,
                    select(func.to_tsquery(cast(literal(c), REGCONFIG), tsquery)).scalar_subquery(),
                    1,
                )
                for c in self.configs
            }
            rank = (
                next(iter(ranks.values()))
                if len(ranks) == 1
                else case(*((SearchDocument.config == c, r) for c, r in ranks.items()), else_=0.0)
            )
            total = rank if total is None else total + rank
        assert total is not None
        return total

    def _sql(self, cond: _Cond) -> ColumnElement[bool]:
        return self.matches(cond) if isinstance(cond, _Words) else cond

    def _visit(self, node: Query, positive: bool) -> _Cond:
        if isinstance(node, (And, Require)):
            return self._and([self._visit(c, positive) for c in node.children()])
        if isinstance(node, AndNot):
            return self._and(
                [self._visit(node.a, positive), self._not(self._visit(node.b, not positive))]
            )
        if isinstance(node, AndMaybe):  # the optional part only ever changed the scores
            return self._visit(node.a, positive)
        if isinstance(node, Or):
            return self._or([self._visit(c, positive) for c in node.children()])
        if isinstance(node, Not):
            return self._not(self._visit(node.query, not positive))
        if isinstance(node, Every):
            return true()
        if node is NullQuery:
            return false()
        if isinstance(node, _DateSpan):
            return self._dates(node.start, node.end)
        if isinstance(node, (Term, Phrase, Prefix, Wildcard)) and node.fieldname in VECTORS:
            return self._words(node, positive)
        if isinstance(node, (Term, Prefix, Wildcard)):
            return self._value(node)
        raise QueryError(
            f"{node} cannot be searched here: ranges like [a TO c] are not supported. "
            f"For example: {EXAMPLE}"
        )

    def _and(self, parts: list[_Cond]) -> _Cond:
        return self._combine(parts, " & ", and_, true())

    def _or(self, parts: list[_Cond]) -> _Cond:
        return self._combine(parts, " | ", or_, false())

    def _combine(
        self,
        parts: list[_Cond],
        operator: str,
        sql: Callable[..., ColumnElement[bool]],
        empty: ColumnElement[bool],
    ) -> _Cond:
        """The parts joined by `operator`: the words on one vector as one tsquery (one
        index scan), joined by `sql` to the words on other vectors and the other
        conditions."""
        by_column: dict[str, list[str]] = {}
        others = []
        for part in parts:
            if isinstance(part, _Words):
                by_column.setdefault(part.column, []).append(f"({part.text})")
            else:
                others.append(part)
        words = [_Words(operator.join(texts), column) for column, texts in by_column.items()]
        if not others and len(words) == 1:
            return words[0]
        conditions = [self.matches(w) for w in words] + others
        return sql(*conditions) if conditions else empty

    @staticmethod
    def _not(part: _Cond) -> _Cond:
        if isinstance(part, _Words):
            return _Words(f"!({part.text})", part.column)
        return not_(part)

    def _words(self, node: Term | Phrase | Prefix | Wildcard, positive: bool) -> _Words:
        column, weight = VECTORS[node.fieldname]
        label = f":{weight}" if weight else ""
        highlight = positive and node.fieldname == "text"
        if isinstance(node, Phrase):
            text = " <-> ".join(f"{_lexeme(w)}{label}" for w in node.words)
            if highlight:
                self._stems.update(stem(w) for w in node.words)
        elif isinstance(node, Prefix):
            text = f"{_lexeme(node.text)}:*{weight}"
            if highlight:
                self._prefixes.add(node.text)
        elif isinstance(node, Wildcard):
            raise QueryError(
                f"{node.text}: on this archive a * can only end a word (interop*), and ?"
                f" is not supported. For example: {EXAMPLE}"
            )
        else:
            text = f"{_lexeme(node.text)}{label}"
            if highlight:
                self._stems.add(stem(node.text))
        if positive:
            self._positive.setdefault(column, []).append(f"({text})")
        return _Words(text, column)

    def _value(self, node: Term | Prefix | Wildcard) -> ColumnElement[bool]:
        """A condition on a keyword field: a value, a prefix (list:twisted*) or a glob.
        Like every condition here it is true or false, never NULL (the facts it reads are
        never NULL), so NOT inverts it; and it is plain enough for the planner to answer
        from an index (a semi-join on the messages for a Message-ID)."""
        value: str = node.text
        if isinstance(node, Term):
            if node.fieldname == "thread":
                if not value.isdigit():
                    return false()
                return _of_messages(select(Message.id).where(Message.thread_id == int(value)))
            if node.fieldname == "has":
                return SearchDocument.attached.expression
            pattern = None
        elif isinstance(node, Prefix):
            pattern = _like(value, glob=False) + "%"
        else:
            pattern = _like(value, glob=True)
        column_of = _VALUE_FIELDS.get(node.fieldname)
        if column_of is None:
            raise QueryError(f"{node.fieldname}:{value} cannot be searched with a pattern here")

        def test(column: SQLColumnExpression[str]) -> ColumnElement[bool]:
            if pattern is None and node.fieldname in _EXACT:
                return column == value
            if pattern is None:
                return func.lower(column) == value.lower()
            return func.lower(column).like(pattern, escape="\\")

        return column_of(test)

    @staticmethod
    def _dates(start: date, end: date) -> ColumnElement[bool]:
        """A span of days: a range the date index answers. A message without a date is in
        no span (false, not NULL: NOT date:2003 finds it)."""
        bounds = []
        if start > date.min:
            bounds.append(SearchDocument.date_utc >= datetime.combine(start, time()))
        if end < date.max:
            bounds.append(
                SearchDocument.date_utc < datetime.combine(end + timedelta(days=1), time())
            )
        return and_(SearchDocument.date_utc.is_not(None), *bounds)


def _lexeme(word: str) -> str:
    """A word quoted for a tsquery (parsed words are \\w+; anything else is escaped)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _like(text: str, glob: bool) -> str:
    """`text` lower-cased as a LIKE pattern: literal, or a glob whose * and ? match."""
    out = []
    for ch in text.lower():
        if glob and ch in "*?":
            out.append("%" if ch == "*" else "_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


_Test = Callable[[SQLColumnExpression[str]], ColumnElement[bool]]


def _of_messages(ids: Select[int]) -> ColumnElement[bool]:
    """The document is of one of the messages `ids` selects: what the messages table
    answers from its own indexes (Message-ID, thread)."""
    return SearchDocument.message_pk.in_(ids)


def _by_message_id(test: _Test) -> ColumnElement[bool]:
    # Through the lists: the messages are indexed by (list, Message-ID).
    return _of_messages(
        select(Message.id)
        .join(MailingList, MailingList.id == Message.list_id)
        .where(test(Message.message_id))
    )


def _by_thread_key(test: _Test) -> ColumnElement[bool]:
    # Through the lists: the threads are indexed by (list, key).
    return _of_messages(
        select(Message.id)
        .join(Thread, Thread.id == Message.thread_id)
        .join(MailingList, MailingList.id == Thread.list_id)
        .where(test(Thread.key))
    )


def _of_lists(test: _Test) -> ColumnElement[bool]:
    return SearchDocument.list_id.in_(select(MailingList.id).where(test(MailingList.name)))


def _tag_of_thread(test: _Test) -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(thread_tags.join(Tag, Tag.id == thread_tags.c.tag_id))
        .where(thread_tags.c.thread_id == SearchDocument.thread_id, test(Tag.name))
    )


def _decision_of(test: _Test) -> ColumnElement[bool]:
    return exists(
        select(1)
        .select_from(DecisionLink.__table__.join(Decision, Decision.id == DecisionLink.decision_id))
        .where(
            DecisionLink.state == "confirmed",
            or_(
                DecisionLink.message_pk == SearchDocument.message_pk,
                DecisionLink.thread_id == SearchDocument.thread_id,
            ),
            test(Decision.slug),
        )
    )


#: Keyword fields: how to test a message's value(s) of each.
_VALUE_FIELDS: dict[str, Callable[[_Test], ColumnElement[bool]]] = {
    "list": _of_lists,
    "stance": lambda test: test(SearchDocument.stance),
    "vote": lambda test: test(SearchDocument.vote),
    "message_id": _by_message_id,
    "thread_key": _by_thread_key,
    "tag": _tag_of_thread,
    "decision": _decision_of,
}
