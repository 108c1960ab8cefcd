"""A trained stance classifier as data: weights in a NumPy archive that loading cannot run.

The model is a multinomial logistic regression over the hashed features of
``ingest.stance_features``: a weight matrix, a bias per class, and per-class confidence
thresholds chosen on cross-validation below which a position is *unsure* (the model
abstains: its best guess is kept, shown as unsure and left out of tallies). The file is an
``.npz`` read with ``allow_pickle=False`` and a JSON header (format, feature version,
training figures) whose SHA-256 digest of the arrays must match, so a tampered, truncated
or foreign file is refused with a clear error instead of silently scoring nonsense.

Applying a model is pure: a context in, a position out, with the evidence (an exact slice
of the body from the author's own words) chosen to explain the class it gave.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.stance import STANCES, Stance, StanceName
from ingest.stance_features import DIMENSIONS, FEATURE_VERSION, StanceContext, ngram_names
from ingest.stance_features import hashed as hashed_names

MODEL_FORMAT = "quorum-stance-model/1"
#: The stances that take a side, which a model claims only where it is precise enough.
DECISIVE: tuple[StanceName, ...] = ("support", "oppose", "concern")
#: What the cue rules read as a side stated outright (not an agreement with the message
#: answered, nor a condition).
_DECLARING_METHODS: dict[str, StanceName] = {
    "cue-support": "support",
    "cue-oppose": "oppose",
    "cue-concern": "concern",
}
#: "I" or "we" as a word ("I'm", "we'd" included: the apostrophe ends the word).
_FIRST_PERSON = re.compile(r"\b(?:i|we)\b", re.IGNORECASE)
#: Sentences looked at when choosing evidence the rules did not give.
_EVIDENCE_SENTENCES = 12
#: Word uni- and bigrams a sentence needs to be evidence ("Hi," has one, "+1" has one).
_EVIDENCE_MIN_NAMES = 5


class ModelError(ValueError):
    """A model file that cannot be used: missing, damaged, tampered with or foreign."""


@dataclass(frozen=True)
class StanceModel:
    classes: tuple[StanceName, ...]
    weights: np.ndarray  # (DIMENSIONS, classes) float32, dense for fast lookup
    bias: np.ndarray  # (classes,)
    thresholds: np.ndarray  # (classes,): below its threshold a prediction is unsure
    info: dict[str, Any] = field(default_factory=dict)
    #: How much each feature pulls towards each class more than on average: what picks
    #: the evidence sentence. Derived once, not per message.
    margins: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "margins", self.weights - self.weights.mean(axis=1, keepdims=True))

    @property
    def name(self) -> str:
        return str(self.info.get("name", "stance-model"))

    def probabilities(self, vectors: list[dict[int, float]]) -> np.ndarray:
        """Class probabilities, one row per sparse vector (one pass over all of them)."""
        lengths = np.fromiter((len(v) for v in vectors), np.int64, len(vectors))
        index = np.fromiter((i for v in vectors for i in v), np.int64, int(lengths.sum()))
        value = np.fromiter((x for v in vectors for x in v.values()), np.float32, len(index))
        contributions = self.weights[index] * value[:, None]
        scores = np.tile(self.bias, (len(vectors), 1)).astype(np.float64)
        filled = lengths > 0
        if filled.any():
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[filled]
            scores[filled] += np.add.reduceat(contributions, starts, axis=0)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    def positions(
        self, vectors: list[dict[int, float]], contexts: list[StanceContext]
    ) -> list[Stance]:
        """The stance of each message, with its evidence, confidence and whether it is
        sure (a thread's messages are scored together)."""
        if not vectors:
            return []
        return [
            self._position(row, context)
            for row, context in zip(self.probabilities(vectors), contexts, strict=True)
        ]

    def _position(self, probabilities: np.ndarray, context: StanceContext) -> Stance:
        rule = context.rule
        best, unsure = decide(probabilities, self.classes, self.thresholds, declared(rule))
        stance, confidence = self.classes[best], float(probabilities[best])
        vote = rule.vote if rule.method.startswith("vote") else None
        if stance == "none":
            return Stance(stance, vote, None, None, None, confidence, "model", unsure)
        if rule.evidence is not None and (rule.stance == stance or vote is not None):
            start, end = rule.evidence_start, rule.evidence_end
        else:
            start, end = self._evidence_span(context, best)
        evidence = context.body[start:end] if start is not None and end is not None else None
        return Stance(stance, vote, evidence, start, end, confidence, "model", unsure)

    def _evidence_span(self, context: StanceContext, best: int) -> tuple[int | None, int | None]:
        """The own sentence whose words weigh most towards the class given; a greeting or
        a bare name is evidence only when nothing longer was written."""
        margin = self.margins[:, best]
        scored = []
        for start, end in context.sentences[:_EVIDENCE_SENTENCES]:
            names = ngram_names("w", context.body[start:end].lower())
            if names:
                score = float(margin[hashed_names(names)].sum()) / math.sqrt(len(names))
                scored.append((len(names) >= _EVIDENCE_MIN_NAMES, score, -start, start, end))
        if not scored:
            return None, None
        *_, start, end = max(scored)
        return start, end

    # -- persistence ------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the model; only rows with a non-zero weight are stored."""
        rows = np.flatnonzero(np.any(self.weights != 0, axis=1)).astype(np.int32)
        arrays = {
            "rows": rows,
            "values": self.weights[rows].astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32),
        }
        header = {
            **self.info,
            "format": MODEL_FORMAT,
            "feature_version": FEATURE_VERSION,
            "classes": list(self.classes),
            "sha256": _digest(arrays),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with partial.open("wb") as out:
            np.savez_compressed(
                out,
                header=_text_array(json.dumps(header, sort_keys=True)),
                **arrays,  # type: ignore[arg-type]  # none is named allow_pickle
            )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> StanceModel:
        """Read a model file, refusing anything that is not an intact Quorum stance model
        of this feature version."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("rows", "values", "bias", "thresholds")}
                header = json.loads(bytes(data["header"]).decode())
        except FileNotFoundError:
            raise ModelError(f"{path}: no such model file") from None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as error:
            raise ModelError(f"{path}: not a Quorum stance model ({error})") from None
        if not isinstance(header, dict) or header.get("format") != MODEL_FORMAT:
            raise ModelError(f"{path}: not a Quorum stance model (format {header.get('format')!r})")
        if header.get("feature_version") != FEATURE_VERSION:
            raise ModelError(
                f"{path}: made for features {header.get('feature_version')!r}, this Quorum "
                f"computes {FEATURE_VERSION!r}; retrain with `quorum positions train`"
            )
        if header.get("sha256") != _digest(arrays):
            raise ModelError(f"{path}: its weights do not match its header (damaged or altered)")
        classes = tuple(header.get("classes", ()))
        rows, values = arrays["rows"], arrays["values"]
        shapes_ok = (
            set(classes) <= set(STANCES)
            and len(set(classes)) == len(classes) > 1
            and rows.ndim == 1
            and values.shape == (len(rows), len(classes))
            and arrays["bias"].shape == arrays["thresholds"].shape == (len(classes),)
            and (len(rows) == 0 or (rows.min() >= 0 and rows.max() < DIMENSIONS))
            and all(np.isfinite(a).all() for a in (values, arrays["bias"], arrays["thresholds"]))
        )
        if not shapes_ok:
            raise ModelError(f"{path}: inconsistent model arrays")
        weights = np.zeros((DIMENSIONS, len(classes)), np.float32)
        weights[rows] = values
        return cls(classes, weights, arrays["bias"], arrays["thresholds"], header)


def declared(rule: Stance) -> str | None:
    """The side the author states outright in the first person, as the cue rules read it
    ("I am very supportive of…", "I'm against this"), or None."""
    side = _DECLARING_METHODS.get(rule.method)
    if side is None or not rule.evidence or not _FIRST_PERSON.search(rule.evidence):
        return None
    return side


def decide(
    probabilities: np.ndarray,
    classes: tuple[str, ...],
    thresholds: np.ndarray,
    declared_side: str | None,
) -> tuple[int, bool]:
    """The class a position takes (an index into ``classes``) and whether it is unsure.

    The model's most probable class, unsure below its threshold; but when the model is
    unsure which side the author takes and the author declared one in their own words, the
    declared side is the guess shown, with that sentence as evidence and the model's own
    probability of it (so usually still unsure, for staff to confirm). In grouped
    cross-validation this costs nothing measurable (macro-F1 0.404 against 0.408, ±0.009
    over three repetitions); it makes an unsure position one that explains itself, and it
    keeps the thread's shape (how long, how late, how many people), which the model learnt
    from one list, from outvoting what the author wrote."""
    best = int(probabilities.argmax())
    unsure = bool(probabilities[best] < thresholds[best])
    if unsure and declared_side in classes and classes[best] in DECISIVE:
        best = classes.index(declared_side)
        unsure = bool(probabilities[best] < thresholds[best])
    return best, unsure


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{value.dtype.str}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _text_array(text: str) -> np.ndarray:
    """Text as bytes in an array: a plain dtype that needs no pickle to read back."""
    return np.frombuffer(text.encode(), dtype=np.uint8)
