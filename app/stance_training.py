"""Training the stance model: labelled examples in, a model file and honest figures out.

Examples come from three places, all turned into the same hashed feature rows by the
same code that derives positions at ingest (``app.positions.stance_contexts`` and
``ingest.stance_features.featurize``):

- the examples shipped with Quorum (``app/stance_data/examples.npz``): the hand-labelled
  replies of ``shared/eval/stance`` as feature rows, built by ``make stance-model``;
- label files in that schema (``--labels``), resolved against the stored messages;
- staff corrections and confirmations tied to a message (a confirmation is a correction
  that agrees), which is how an install teaches its own model.

Evaluation is grouped cross-validation: folds by thread, never one thread on both sides
(by list once examples come from more than one). The out-of-fold probabilities give the
per-class figures, the vote figures and the abstention thresholds: for each decisive
stance the lowest confidence at which its precision stays at or above the target.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import MailingList, Message, PositionOverride, Thread
from app.positions import load_threads, stance_contexts
from ingest.stance import STANCES, StanceName
from ingest.stance_features import DIMENSIONS, FEATURE_VERSION, featurize
from ingest.stance_model import DECISIVE, ModelError, StanceModel, decide, declared

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

#: Decisive positions are claimed only where cross-validation says they are this precise.
TARGET_PRECISION = 0.85
#: Borderline labels ("soft": readers could disagree) count this much of a clear one.
SOFT_WEIGHT = 0.5
#: A staff judgement of this install's own mail counts double a shipped label: it is the
#: list the model serves, and one correction should move the model on that message.
STAFF_WEIGHT = 2.0
REGULARISATION = 4.0
CLASS_WEIGHT: str | None = "balanced"
FOLDS = 10
#: Folds go by list once two lists have this many examples each: a list with a handful of
#: staff corrections cannot be a fold of its own (it would train on one stance).
MIN_LIST_EXAMPLES = 50
EXAMPLES_FORMAT = "quorum-stance-examples/2"


#: The hand-labelled examples shipped with Quorum, as feature rows (see ``make stance-model``).
SHIPPED_EXAMPLES = Path(str(resources.files("app") / "stance_data" / "examples.npz"))


@dataclass
class Examples:
    """Labelled feature rows, with the thread each comes from and what the vote detector
    found against the vote the labeller saw."""

    rows: list[dict[int, float]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # "list thread-key"
    weights: list[float] = field(default_factory=list)
    gold_votes: list[str] = field(default_factory=list)  # "" when none
    found_votes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # "shipped", "labels" or "staff"
    #: The side the author declares outright, as the cue rules read it ("" when none).
    declared: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def extend(self, other: Examples) -> None:
        for column in fields(self):
            getattr(self, column.name).extend(getattr(other, column.name))

    def subset(self, keep: Iterable[bool]) -> Examples:
        """The examples where ``keep`` is true (e.g. all but some threads)."""
        chosen = [i for i, kept in enumerate(keep) if kept]
        return Examples(
            **{c.name: [getattr(self, c.name)[i] for i in chosen] for c in fields(self)}
        )

    def matrix(self) -> csr_matrix:
        # SciPy and scikit-learn are imported where training uses them, not at the top:
        # they weigh about 100 MB of memory, and every quorum command (an ingest, a web
        # worker) imports this module through the command line, which offers training.
        from scipy.sparse import csr_matrix

        indptr, indices, data = [0], [], []
        for row in self.rows:
            for index in sorted(row):
                indices.append(index)
                data.append(row[index])
            indptr.append(len(indices))
        return csr_matrix(
            (np.asarray(data, np.float32), np.asarray(indices, np.int32), np.asarray(indptr)),
            shape=(len(self.rows), DIMENSIONS),
        )

    def save(self, path: Path) -> None:
        matrix = self.matrix()
        header = {"format": EXAMPLES_FORMAT, "feature_version": FEATURE_VERSION}
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            header=np.frombuffer(json.dumps(header).encode(), np.uint8),
            indptr=matrix.indptr.astype(np.int32),
            indices=matrix.indices.astype(np.int32),
            data=matrix.data.astype(np.float32),
            labels=np.asarray(self.labels, dtype="U8"),
            groups=np.asarray(self.groups, dtype=str),
            weights=np.asarray(self.weights, np.float32),
            gold_votes=np.asarray(self.gold_votes, dtype="U8"),
            found_votes=np.asarray(self.found_votes, dtype="U8"),
            declared=np.asarray(self.declared, dtype="U8"),
        )

    @classmethod
    def load(cls, path: Path, source: str = "shipped") -> Examples:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, KeyError) as error:
            raise ModelError(f"{path}: not a Quorum examples file ({error})") from None
        if header.get("format") != EXAMPLES_FORMAT:
            raise ModelError(f"{path}: not a Quorum examples file")
        if header.get("feature_version") != FEATURE_VERSION:
            raise ModelError(
                f"{path}: examples of features {header.get('feature_version')!r}, this Quorum "
                f"computes {FEATURE_VERSION!r}; rebuild them with `make stance-model`"
            )
        indptr, indices, data = arrays["indptr"], arrays["indices"], arrays["data"]
        rows = [
            dict(zip(indices[a:b].tolist(), data[a:b].tolist(), strict=True))
            for a, b in itertools.pairwise(indptr)
        ]
        count = len(rows)
        return cls(
            rows,
            [str(x) for x in arrays["labels"]],
            [str(x) for x in arrays["groups"]],
            [float(x) for x in arrays["weights"]],
            [str(x) for x in arrays["gold_votes"]],
            [str(x) for x in arrays["found_votes"]],
            [source] * count,
            [str(x) for x in arrays["declared"]],
        )


def examples_from_labels(session: Session, paths: Sequence[Path]) -> tuple[Examples, int]:
    """Examples for the labels (``shared/eval/stance`` schema) whose messages are stored;
    returns them and the number of labels whose message was not found."""
    labels: dict[str, dict[str, object]] = {}
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    record = json.loads(line)
                    labels[record["message_id"]] = record
    found = dict(
        session.execute(
            select(Message.message_id, Message.id)
            .where(Message.message_id.in_(labels), Message.thread_id.is_not(None))
            .order_by(Message.id.desc())
        ).all()
    )
    judged = {
        pk: (
            str(labels[mid]["stance"]),
            SOFT_WEIGHT if labels[mid].get("clarity") == "soft" else 1.0,
            str(labels[mid].get("vote") or ""),
        )
        for mid, pk in found.items()
    }
    return _examples(session, judged, "labels"), len(labels) - len(found)


def examples_from_corrections(session: Session) -> Examples:
    """Staff corrections and confirmations, each a label of the message it judged."""
    rows = session.execute(
        select(PositionOverride.message_pk, PositionOverride.stance, PositionOverride.vote).where(
            PositionOverride.message_pk.is_not(None)
        )
    ).all()
    # Only rows with a message_pk are selected.
    judged = {cast(int, pk): (stance, STAFF_WEIGHT, vote or "") for pk, stance, vote in rows}
    return _examples(session, judged, "staff")


def _examples(
    session: Session, judged: Mapping[int, tuple[str, float, str]], source: str
) -> Examples:
    """Feature rows of the judged messages, read in their threads as ingest reads them."""
    examples = Examples()
    if not judged:
        return examples
    threads = dict(
        session.execute(select(Message.id, Message.thread_id).where(Message.id.in_(judged))).all()
    )
    names = dict(
        session.execute(
            select(Thread.id, MailingList.name + " " + Thread.key)
            .join(MailingList, MailingList.id == Thread.list_id)
            .where(Thread.id.in_(set(threads.values())))
        ).all()
    )
    # Judged messages are threaded: labels are matched to threaded messages only, and staff
    # judge positions, which only threaded messages have.
    for thread in load_threads(session, sorted(cast("set[int]", set(threads.values())))):
        contexts = stance_contexts(thread)
        for member in thread.members:
            if member.pk not in judged:
                continue
            stance, weight, vote = judged[member.pk]
            context = contexts[member.pk]
            examples.rows.append(featurize(context))
            examples.labels.append(stance)
            examples.groups.append(names[thread.thread_id])
            examples.weights.append(weight)
            examples.gold_votes.append(vote)
            rule_vote = context.rule.vote if context.rule.method.startswith("vote") else None
            examples.found_votes.append(rule_vote or "")
            examples.sources.append(source)
            examples.declared.append(declared(context.rule) or "")
    return examples


# -- fitting and evaluation -------------------------------------------------------------------


def fit(
    matrix: csr_matrix,
    labels: np.ndarray,
    weights: np.ndarray,
    regularisation: float = REGULARISATION,
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """A multinomial logistic regression, classes weighted so each counts alike (the
    figure that matters is macro-F1, and oppose is rare). Only the feature columns some
    example uses take part (a tenth of the hashed space: ten times faster), and the
    weights come back in the full space: classes, (DIMENSIONS, classes) weights, bias."""
    from sklearn.linear_model import LogisticRegression  # training only: see matrix()

    used = np.unique(matrix.indices)
    classifier = LogisticRegression(
        C=regularisation, class_weight=CLASS_WEIGHT, max_iter=1000, tol=1e-4
    )
    classifier.fit(matrix[:, used], labels, sample_weight=weights)
    classes = tuple(str(c) for c in classifier.classes_)
    coefficients, bias = classifier.coef_, classifier.intercept_
    if len(classes) == 2:  # a binary fit has one row: make it two opposite scores
        coefficients = np.vstack([-coefficients[0], coefficients[0]]) / 2
        bias = np.array([-bias[0], bias[0]]) / 2
    full = np.zeros((DIMENSIONS, len(classes)), np.float32)
    full[used] = coefficients.T
    return classes, full, bias.astype(np.float32)


def _probabilities(weights: np.ndarray, bias: np.ndarray, matrix: csr_matrix) -> np.ndarray:
    scores = np.asarray(matrix @ weights) + bias
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return probabilities


@dataclass
class Evaluation:
    """Out-of-fold figures of grouped cross-validation."""

    folds: int
    grouped_by: str
    per_class: dict[StanceName, dict[str, float]]
    macro_f1: float
    accuracy: float
    votes: dict[str, float]
    thresholds: dict[StanceName, float]
    abstaining: dict[StanceName, dict[str, float]]  # per decisive class, after abstention
    tradeoff: list[dict[str, float]]  # decisive precision/recall at confidence cut-offs
    examples: int

    def as_dict(self) -> dict[str, object]:
        return self.__dict__.copy()


def cross_validate(
    examples: Examples, folds: int = FOLDS, regularisation: float = REGULARISATION
) -> Evaluation:
    """Grouped k-fold cross-validation: by list when the examples span several lists with
    enough examples each, else by thread. Returns the figures and the abstention
    thresholds they justify."""
    from sklearn.model_selection import GroupKFold  # training only: see Examples.matrix()

    per_list = Counter(g.split(" ", 1)[0] for g in examples.groups)
    grouped_by = "list" if sum(n >= MIN_LIST_EXAMPLES for n in per_list.values()) > 1 else "thread"
    groups = [g.split(" ", 1)[0] if grouped_by == "list" else g for g in examples.groups]
    folds = min(folds, len(set(groups)))
    matrix = examples.matrix()
    labels = np.asarray(examples.labels)
    weights = np.asarray(examples.weights)
    probabilities = np.zeros((len(labels), len(STANCES)))
    for train, test in GroupKFold(n_splits=folds).split(matrix, labels, groups):
        classes, fold_weights, bias = fit(
            matrix[train], labels[train], weights[train], regularisation
        )
        columns = [STANCES.index(c) for c in classes]
        probabilities[np.ix_(test, columns)] = _probabilities(fold_weights, bias, matrix[test])
    return evaluate(probabilities, examples, folds, grouped_by)


def evaluate(
    probabilities: np.ndarray, examples: Examples, folds: int, grouped_by: str
) -> Evaluation:
    """The figures of out-of-fold ``probabilities``: the abstention thresholds come from the
    model's own most probable classes, then every example is decided as a position is
    (``ingest.stance_model.decide``) and scored."""
    labels = np.asarray(examples.labels)
    guessed = np.asarray(STANCES)[probabilities.argmax(axis=1)]
    thresholds = {c: _threshold(labels, guessed, probabilities.max(axis=1), c) for c in STANCES}
    cuts = np.asarray([thresholds[c] for c in STANCES])
    decided = [
        decide(row, STANCES, cuts, side or None)
        for row, side in zip(probabilities, examples.declared, strict=True)
    ]
    predicted = np.asarray([STANCES[best] for best, _ in decided])
    confidence = probabilities[np.arange(len(labels)), [best for best, _ in decided]]
    sure = ~np.asarray([unsure for _, unsure in decided], dtype=bool)
    per_class = {c: _scores(labels, predicted, c) for c in STANCES if (labels == c).any()}
    macro = float(np.mean([s["f1"] for s in per_class.values()]))
    abstaining = {c: _scores(labels, np.where(sure, predicted, "unsure"), c) for c in DECISIVE}
    return Evaluation(
        folds=folds,
        grouped_by=grouped_by,
        per_class=per_class,
        macro_f1=macro,
        accuracy=float((labels == predicted).mean()),
        votes=_vote_scores(examples),
        thresholds=thresholds,
        abstaining=abstaining,
        tradeoff=_tradeoff(labels, predicted, confidence),
        examples=len(labels),
    )


def _scores(labels: np.ndarray, predicted: np.ndarray, cls: str) -> dict[str, float]:
    tp = float(((predicted == cls) & (labels == cls)).sum())
    n_predicted, n_gold = float((predicted == cls).sum()), float((labels == cls).sum())
    precision = tp / n_predicted if n_predicted else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": n_gold,
        "predicted": n_predicted,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def _threshold(
    labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray, cls: str
) -> float:
    """The lowest confidence from which predictions of ``cls`` keep the target precision
    (decisive stances only; saying "no side" or "no position" needs no abstention). When
    no cut-off reaches it, nothing of that class is claimed (threshold above 1)."""
    if cls not in DECISIVE:
        return 0.0
    mine = predicted == cls
    order = np.argsort(-confidence[mine])
    right = (labels[mine] == cls)[order]
    if not len(right):
        return 1.01
    precision = np.cumsum(right) / np.arange(1, len(right) + 1)
    # The largest set, ranked by confidence, whose precision holds at the target; a
    # couple of lucky top predictions alone do not make a threshold.
    good = np.flatnonzero((precision >= TARGET_PRECISION) & (np.arange(len(right)) >= 4))
    if not len(good):
        return 1.01
    return float(np.sort(confidence[mine])[::-1][good[-1]])


def _tradeoff(
    labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray
) -> list[dict[str, float]]:
    """Decisive precision and recall as the confidence required rises."""
    decisive_gold = np.isin(labels, DECISIVE).sum()
    points = []
    for cut in (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        claimed = np.isin(predicted, DECISIVE) & (confidence >= cut)
        right = (claimed & (predicted == labels)).sum()
        points.append(
            {
                "confidence": cut,
                "claimed": float(claimed.sum()),
                "precision": float(right / claimed.sum()) if claimed.sum() else 0.0,
                "recall": float(right / decisive_gold) if decisive_gold else 0.0,
            }
        )
    return points


def _vote_scores(examples: Examples) -> dict[str, float]:
    pairs = list(zip(examples.gold_votes, examples.found_votes, strict=True))
    right = sum(1 for gold, found in pairs if found and found == gold)
    found = sum(1 for _, f in pairs if f)
    gold = sum(1 for g, _ in pairs if g)
    return {
        "precision": right / found if found else 1.0,
        "recall": right / gold if gold else 1.0,
        "right": float(right),
        "found": float(found),
        "gold": float(gold),
    }


# -- the whole command ------------------------------------------------------------------------


def train_model(examples: Examples, name: str, evaluation: Evaluation | None = None) -> StanceModel:
    """Fit on every example and package the model with its cross-validated figures and
    thresholds (computed here unless given)."""
    evaluation = evaluation or cross_validate(examples)
    classes, weights, bias = fit(
        examples.matrix(), np.asarray(examples.labels), np.asarray(examples.weights)
    )
    info = {
        "name": name,
        "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "examples": len(examples),
        "sources": dict(Counter(examples.sources)),
        "labels": dict(Counter(examples.labels)),
        "regularisation": REGULARISATION,
        "evaluation": evaluation.as_dict(),
    }
    # The labels' stances: StanceModel.load refuses a model with any other class.
    stances = cast("tuple[StanceName, ...]", classes)
    thresholds = np.asarray([evaluation.thresholds.get(c, 0.0) for c in stances], np.float32)
    return StanceModel(stances, weights, bias, thresholds, info)


def gather(
    session: Session, label_files: Iterable[Path], shipped: bool = True
) -> tuple[Examples, int]:
    """Every example a training run uses: shipped, from label files, from staff."""
    examples = Examples.load(SHIPPED_EXAMPLES) if shipped else Examples()
    from_labels, missing = examples_from_labels(session, list(label_files))
    examples.extend(from_labels)
    examples.extend(examples_from_corrections(session))
    return examples, missing


def describe_model(info: dict[str, Any], evaluation: dict[str, Any]) -> str:
    """A model's record for people: what it learnt from and its cross-validated figures
    (what `quorum positions train|status` and the admin page show)."""
    sources = ", ".join(f"{n} {k}" for k, n in sorted(info.get("sources", {}).items()))
    lines = [
        f"model {info.get('name', '?')} trained {info.get('trained_at', '?')} on "
        f"{info.get('examples', 0)} examples ({sources})",
        f"cross-validated ({evaluation.get('folds', '?')} folds by "
        f"{evaluation.get('grouped_by', '?')}): macro-F1 {evaluation.get('macro_f1', 0):.3f}, "
        f"accuracy {evaluation.get('accuracy', 0):.3f}",
        f"{'stance':<9} {'n':>5} {'prec':>6} {'recall':>6} {'F1':>6}   sure: {'prec':>6} "
        f"{'recall':>6}  from confidence",
    ]
    thresholds = evaluation.get("thresholds", {})
    abstaining = evaluation.get("abstaining", {})
    for stance, scores in evaluation.get("per_class", {}).items():
        line = (
            f"{stance:<9} {scores['n']:>5.0f} {scores['precision']:>6.2f} "
            f"{scores['recall']:>6.2f} {scores['f1']:>6.2f}"
        )
        if stance in abstaining:
            sure, cut = abstaining[stance], thresholds.get(stance, 0.0)
            claim = "never claimed" if cut > 1 else f"{cut:.2f}"
            line += f"         {sure['precision']:>6.2f} {sure['recall']:>6.2f}  {claim}"
        lines.append(line)
    votes = evaluation.get("votes", {})
    if votes:
        lines.append(
            f"vote tokens: precision {votes['precision']:.2f}, recall {votes['recall']:.2f} "
            f"({votes['right']:.0f} right of {votes['found']:.0f} found, {votes['gold']:.0f} "
            "labelled)"
        )
    return "\n".join(lines)
