"""The stance model as data: a file that loading checks and cannot execute, a shipped
model that rebuilds from the shipped examples, evidence from the author's own words, and
staff corrections that teach a retrained model."""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from sqlalchemy import select

from app.models import Message, Position, PositionOverride
from app.positions import (
    SHIPPED_MODEL,
    active_model,
    load_threads,
    model_path,
    stance_contexts,
)
from app.settings import settings_of
from app.stance_training import SHIPPED_EXAMPLES, Examples, fit
from ingest.segments import segment_body
from ingest.stance import extract_stance, own_sentences
from ingest.stance_features import DIMENSIONS, FEATURE_VERSION, StanceContext, featurize
from ingest.stance_model import MODEL_FORMAT, ModelError, StanceModel, decide, declared
from tests.helpers import EXAMPLES, run_cli, sessions_of

DEMO = EXAMPLES / "foundation"
TOMAN = "<CF1A2E3B.3B1A2%troy.toman@rackspace.com>"


def context(own: str, **thread: object) -> StanceContext:
    """A reply as the classifier sees it, answering the proposer unless told otherwise."""
    body = own
    segments = segment_body(body)
    rule = extract_stance(body, segments)
    values: dict[str, object] = {
        "body": body,
        "sentences": tuple(own_sentences(segments)),
        "own": own,
        "parent_own": "",
        "root_own": "We should do the thing.",
        "is_root": False,
        "by_proposer": False,
        "answers_proposer": True,
        "depth": 1,
        "rank": 1,
        "earlier_by_author": 0,
        "participants": 2,
        "quoted_lines": 0,
        "rule": rule,
        "parent_rule": None,
    }
    values.update(thread)
    return StanceContext(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shipped() -> StanceModel:
    return StanceModel.load(SHIPPED_MODEL)


def test_the_shipped_model_is_small_plain_data_of_this_feature_version(
    shipped: StanceModel,
) -> None:
    assert SHIPPED_MODEL.stat().st_size <= 5 * 1024 * 1024
    assert shipped.info["format"] == MODEL_FORMAT
    assert shipped.info["feature_version"] == FEATURE_VERSION
    assert set(shipped.classes) == {"support", "oppose", "concern", "neutral", "none"}
    evaluation = shipped.info["evaluation"]
    assert evaluation["grouped_by"] == "thread"
    assert 0.0 < evaluation["macro_f1"] <= 1.0
    with zipfile.ZipFile(SHIPPED_MODEL) as archive:  # arrays only: nothing to unpickle
        assert sorted(archive.namelist()) == [
            "bias.npy",
            "header.npy",
            "rows.npy",
            "thresholds.npy",
            "values.npy",
        ]


def test_a_saved_model_loads_back_to_the_same_predictions(
    shipped: StanceModel, tmp_path: Path
) -> None:
    path = tmp_path / "model.npz"
    shipped.save(path)
    again = StanceModel.load(path)
    vectors = [featurize(context(text)) for text in ("+1\n", "I object to this.", "Thanks!")]
    assert np.allclose(again.probabilities(vectors), shipped.probabilities(vectors))


def test_scoring_a_batch_equals_scoring_each_message_alone(shipped: StanceModel) -> None:
    """Messages of a thread are scored together (an empty reading among them too), with
    the same result as the plain sum of each message's feature weights."""
    vectors = [featurize(context(text)) for text in ("+1\n", "Thanks!", "I object to this.")]
    vectors.insert(1, {})
    batch = shipped.probabilities(vectors)
    for row, vector in zip(batch, vectors, strict=True):
        scores = shipped.bias.astype(np.float64) + sum(
            (value * shipped.weights[index] for index, value in vector.items()),
            np.zeros(len(shipped.classes)),
        )
        alone = np.exp(scores - scores.max())
        assert np.allclose(row, alone / alone.sum(), atol=1e-6)


def _rewrite(source: Path, target: Path, change: dict[str, np.ndarray]) -> None:
    with np.load(source, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays.update(change)
    np.savez(target, **arrays)


def test_a_tampered_model_is_refused(shipped: StanceModel, tmp_path: Path) -> None:
    with np.load(SHIPPED_MODEL, allow_pickle=False) as data:
        values = data["values"].copy()
    values[0, 0] += 1.0
    tampered = tmp_path / "tampered.npz"
    _rewrite(SHIPPED_MODEL, tampered, {"values": values})
    with pytest.raises(ModelError, match="damaged or altered"):
        StanceModel.load(tampered)


def test_a_model_of_other_features_is_refused(tmp_path: Path) -> None:
    with np.load(SHIPPED_MODEL, allow_pickle=False) as data:
        header = json.loads(bytes(data["header"]).decode())
    header["feature_version"] = "stance-features-0"
    other = tmp_path / "other.npz"
    _rewrite(SHIPPED_MODEL, other, {"header": np.frombuffer(json.dumps(header).encode(), np.uint8)})
    with pytest.raises(ModelError, match="retrain"):
        StanceModel.load(other)


@pytest.mark.parametrize(
    "write",
    [
        lambda path: path.write_text("not a model\n"),
        lambda path: np.savez(path, weights=np.zeros(3)),
        # An archive holding a pickled object: loading must never unpickle it.
        lambda path: np.savez(path, header=np.array([{"format": MODEL_FORMAT}], dtype=object)),
        lambda path: path.write_bytes(pickle.dumps({"format": MODEL_FORMAT})),
    ],
    ids=["text", "foreign-npz", "pickled-object", "pickle"],
)
def test_a_foreign_file_is_refused_with_a_clear_error(tmp_path: Path, write: object) -> None:
    path = tmp_path / "model.npz"
    write(path)  # type: ignore[operator]
    with pytest.raises(ModelError, match="not a Quorum stance model"):
        StanceModel.load(path)


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        StanceModel.load(tmp_path / "absent.npz")


def test_the_shipped_model_rebuilds_from_the_shipped_examples(shipped: StanceModel) -> None:
    """`make stance-model` writes the examples and the model fitted on them: fitting the
    examples again gives the same model (so the model is data derived from labels). The
    solver stops once its steps fall under its tolerance, and where exactly depends on the
    machine's floating-point library: weights agree to a few thousandths (on weights up to
    about 3), and every example gets the same stance."""
    examples = Examples.load(SHIPPED_EXAMPLES)
    assert len(examples) == shipped.info["examples"]
    matrix = examples.matrix()
    classes, weights, bias = fit(matrix, np.asarray(examples.labels), np.asarray(examples.weights))
    assert classes == shipped.classes
    assert weights.shape == (DIMENSIONS, len(classes))
    assert np.allclose(weights, shipped.weights, atol=0.01)
    assert np.allclose(bias, shipped.bias, atol=0.03)
    rebuilt = np.asarray(matrix @ weights) + bias
    original = np.asarray(matrix @ shipped.weights) + shipped.bias
    assert (rebuilt.argmax(axis=1) == original.argmax(axis=1)).all()


def test_evidence_is_an_exact_slice_of_the_author_s_own_sentences(shipped: StanceModel) -> None:
    body = "Hi,\n\nI think this would be a real improvement for everyone.\n\nThanks, Ann\n"
    reply = context(body)
    (position,) = shipped.positions([featurize(reply)], [reply])
    assert position.stance != "none"  # an opinion was written: some position, with evidence
    assert position.evidence == body[position.evidence_start : position.evidence_end]
    assert position.evidence == "I think this would be a real improvement for everyone."


def test_agreeing_with_an_objector_leans_towards_objecting(shipped: StanceModel) -> None:
    """Stance is a relation: the same "+1" reads differently under an objection than
    under the proposal."""
    objection = extract_stance("I object to this: it breaks every plugin.")
    to_proposer = context("+1\n")
    to_objector = context("+1\n", answers_proposer=False, parent_rule=objection, depth=2)
    oppose = shipped.classes.index("oppose")
    to_proposer_p = shipped.probabilities([featurize(to_proposer)])[0, oppose]
    to_objector_p = shipped.probabilities([featurize(to_objector)])[0, oppose]
    assert to_objector_p > to_proposer_p


def test_unsure_below_the_threshold_chosen_on_cross_validation(shipped: StanceModel) -> None:
    thresholds = dict(zip(shipped.classes, shipped.thresholds.tolist(), strict=True))
    assert thresholds["neutral"] == thresholds["none"] == 0.0
    for text in ("+1\n", "I strongly object.", "Maybe, I am not sure.", "Sounds good."):
        reply = context(text)
        (position,) = shipped.positions([featurize(reply)], [reply])
        assert position.unsure == (position.confidence < thresholds[position.stance])


CLASSES = ("support", "oppose", "concern", "neutral", "none")
NOTHING_CLAIMED = np.asarray([1.01, 1.01, 1.01, 0.0, 0.0])


def test_an_unsure_side_yields_to_the_side_the_author_declares() -> None:
    leaning_oppose = np.asarray([0.25, 0.38, 0.33, 0.02, 0.02])
    assert decide(leaning_oppose, CLASSES, NOTHING_CLAIMED, None) == (1, True)
    assert decide(leaning_oppose, CLASSES, NOTHING_CLAIMED, "support") == (0, True)
    assert decide(leaning_oppose, CLASSES, NOTHING_CLAIMED, "oppose") == (1, True)


def test_a_sure_position_or_a_position_taking_no_side_is_kept_whatever_is_declared() -> None:
    sure_oppose = np.asarray([0.05, 0.9, 0.03, 0.01, 0.01])
    claiming = np.asarray([0.8, 0.8, 0.8, 0.0, 0.0])
    assert decide(sure_oppose, CLASSES, claiming, "support") == (1, False)
    on_topic = np.asarray([0.2, 0.1, 0.1, 0.5, 0.1])
    assert decide(on_topic, CLASSES, NOTHING_CLAIMED, "support") == (3, False)


def test_a_declared_side_is_stated_outright_in_the_first_person() -> None:
    assert declared(extract_stance("I am very supportive of taking simpler first steps.")) == (
        "support"
    )
    assert declared(extract_stance("I'm against this change.")) == "oppose"
    assert declared(extract_stance("Sounds good.")) is None  # no one says it is theirs
    assert declared(extract_stance("I agree with Bob.")) is None  # agreeing answers Bob
    assert declared(extract_stance("+1")) is None  # a vote is read as a vote


def test_the_seed_gives_toman_support_from_his_own_declaration(app: Flask) -> None:
    assert run_cli(app, "ingest", str(DEMO)).exit_code == 0
    with sessions_of(app)() as session:
        toman = session.scalar(select(Position).join(Message).where(Message.message_id == TOMAN))
        assert toman is not None
        assert toman.stance == "support"
        assert toman.evidence is not None
        assert "I am very supportive of taking simpler first steps" in toman.evidence


def test_staff_corrections_teach_a_retrained_model(app: Flask) -> None:
    """A correction tied to its message becomes a label: `quorum positions train` writes
    an install model that becomes the active one, and it reads the corrected message much
    more as staff did than the shipped model; `recompute` stores that reading."""
    assert run_cli(app, "ingest", str(DEMO)).exit_code == 0
    sessions = sessions_of(app)
    with sessions() as session:
        message = session.scalar(select(Message).where(Message.message_id == TOMAN))
        assert message is not None and message.thread_id is not None
        before = session.scalar(select(Position).where(Position.message_pk == message.id))
        assert before is not None
        staff_reading = "concern" if before.stance != "concern" else "neutral"
        session.add(
            PositionOverride(
                thread_id=message.thread_id,
                participant_id=message.participant_id,
                message_pk=message.id,
                stance=staff_reading,
                note="test: staff read it otherwise",
            )
        )
        session.commit()
        (thread,) = load_threads(session, [message.thread_id])
        reply = stance_contexts(thread)[message.id]

    result = run_cli(app, "positions", "train", "--folds", "3")
    assert result.exit_code == 0, result.output
    home = settings_of(app).home
    assert model_path(home).exists()
    trained = active_model(home)
    assert trained.info["sources"] == {"shipped": trained.info["examples"] - 1, "staff": 1}
    assert "1 staff" in run_cli(app, "positions", "status").stdout

    shipped = StanceModel.load(SHIPPED_MODEL)
    vector = featurize(reply)
    was = shipped.probabilities([vector])[0, shipped.classes.index(staff_reading)]
    now = trained.probabilities([vector])[0, trained.classes.index(staff_reading)]
    assert now > was + 0.1
    assert run_cli(app, "positions", "recompute").exit_code == 0
    (expected,) = trained.positions([vector], [reply])
    with sessions() as session:
        after = session.scalar(select(Position).where(Position.message_pk == message.id))
        assert after is not None
        assert (after.stance, after.unsure) == (expected.stance, expected.unsure)


def test_a_damaged_install_model_is_a_one_line_error_before_anything_is_written(
    app: Flask,
) -> None:
    path = model_path(settings_of(app).home)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not really a model")
    ingest = run_cli(app, "ingest", str(DEMO))
    assert ingest.exit_code == 1
    assert f"quorum ingest: {path}: not a Quorum stance model" in ingest.output
    with sessions_of(app)() as session:
        assert session.scalars(select(Message)).first() is None
    for command in ("status", "recompute"):
        result = run_cli(app, "positions", command)
        assert result.exit_code == 1 and "not a Quorum stance model" in result.output
