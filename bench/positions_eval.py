"""Score the stance model honestly: grouped cross-validation, and the development set
through the real ingest path with a model that never saw it.

    .venv/bin/python bench/positions_eval.py [--errors] [--skip-cv]
        [--eval ../shared/eval/stance] [--corpora ../shared/corpora]

1. Grouped cross-validation over every shipped example (the hand-labelled replies of
   ``shared/eval/stance``, dev and train): folds by thread, never one thread on both sides.
   Prints per-class precision/recall/F1, macro-F1, vote precision/recall, the abstention
   thresholds and the precision-recall trade-off of the decisive stances.
2. The development set (``labels.jsonl``, 12 threads) scored separately: a model is trained
   on the shipped examples of the *other* threads, installed in a temporary home, and the
   monthly archive files the dev labels name are ingested with ``quorum ingest``'s code, so
   positions are derived exactly as in production. Prints the same figures, the accuracy of
   quoted authors and (``--errors``) every disagreement.
3. What positions cost: feature extraction + model per message, CPU time, median of 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from app.ingestion import run_ingest  # noqa: E402
from app.models import Message, Position, Thread  # noqa: E402
from app.positions import (  # noqa: E402
    active_model,
    load_threads,
    model_path,
    stance_contexts,
)
from app.settings import load_settings  # noqa: E402
from app.stance_training import (  # noqa: E402
    SHIPPED_EXAMPLES,
    Examples,
    cross_validate,
    describe_model,
    train_model,
)
from ingest.stance_features import featurize  # noqa: E402
from ingest.stance_model import STANCES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval" / "stance")
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    parser.add_argument("--skip-cv", action="store_true", help="only the development set")
    args = parser.parse_args()

    examples = Examples.load(SHIPPED_EXAMPLES)
    if not args.skip_cv:
        started = time.perf_counter()
        evaluation = cross_validate(examples)
        print(
            f"== grouped cross-validation over {len(examples)} shipped examples "
            f"({time.perf_counter() - started:.0f} s)"
        )
        info = {
            "name": "cross-validation",
            "examples": len(examples),
            "sources": dict(Counter(examples.sources)),
            "trained_at": "(folds)",
        }
        print(describe_model(info, evaluation.as_dict()))
        print("decisive stances (support, oppose, concern) as the confidence required rises:")
        for point in evaluation.tradeoff:
            print(
                f"  confidence ≥ {point['confidence']:.1f}: {point['claimed']:>4.0f} claimed, "
                f"precision {point['precision']:.2f}, recall {point['recall']:.2f}"
            )

    labels = [json.loads(line) for line in (args.eval / "labels.jsonl").open()]
    threads = [json.loads(line) for line in (args.eval / "threads.jsonl").open()]
    dev_threads = {t["thread_root_id"] for t in threads}
    held_out = examples.subset(g.split(" ", 1)[1] not in dev_threads for g in examples.groups)
    months = sorted({r["archive_file"] for r in [*labels, *threads]})
    archive = args.corpora / "twisted-python" / "archive"
    files = [archive / m if (archive / m).exists() else archive / f"{m}.gz" for m in months]

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings({"home": home, "database_url": ""})
        model = train_model(held_out, name="without-dev-threads")
        model.save(model_path(settings.home))
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        account = run_ingest(sessions, settings, files, list_name="twisted-python", progress=False)
        elapsed = time.perf_counter() - started
        with sessions() as session:
            predicted = _predictions(session, {r["message_id"] for r in labels})
            timing = _cost(session, settings.home)
        engine.dispose()

    print(
        f"\n== development set: {len(labels)} labels of {len(dev_threads)} threads, model "
        f"trained on the {len(held_out)} examples of other threads"
    )
    print(
        f"ingested {account.read} messages ({account.stored} stored) from {len(files)} "
        f"monthly files in {elapsed:.1f} s, positions included"
    )
    _report(labels, predicted, args.errors)
    print(f"\n{timing}")


def _cost(session: object, home: Path) -> str:
    """Features + model over every stored message of the ingested threads (segmentation
    and cue rules included): CPU per message, median of three passes."""
    model = active_model(home)
    ids = list(session.scalars(select(Thread.id)))  # type: ignore[attr-defined]
    loaded = load_threads(session, ids)  # type: ignore[arg-type]
    count = sum(len(t.members) for t in loaded)
    passes = []
    for _ in range(3):
        cpu = time.process_time()
        for thread in loaded:
            ordered = list(stance_contexts(thread).values())
            model.positions([featurize(c) for c in ordered], ordered)
        passes.append(time.process_time() - cpu)
    per = sorted(passes)[1] / count * 1000
    return (
        f"positions over {count} messages: {per:.2f} ms CPU per message (rules, features, "
        "model and evidence; segmentation done once; median of 3)"
    )


def _predictions(session: object, ids: set[str]) -> dict[str, dict[str, object]]:
    rows = session.execute(  # type: ignore[attr-defined]
        select(Message.message_id, Position)
        .join(Position, Position.message_pk == Message.id)
        .where(Message.message_id.in_(ids))
    )
    return {
        message_id: {
            "stance": p.stance,
            "unsure": p.unsure,
            "confidence": p.confidence,
            "vote": p.vote,
            "evidence": p.evidence,
            "quoted_authors": sorted({q["author"] for q in p.quoted if q["author"]}),
        }
        for message_id, p in rows
    }


def _report(labels: list[dict], predicted: dict[str, dict[str, object]], errors: bool) -> None:
    missing = [r["message_id"] for r in labels if r["message_id"] not in predicted]
    confusion: Counter[tuple[str, str]] = Counter()
    vote_right = vote_found = 0
    quoted_ok = 0
    sure_right = sure_claimed = 0
    for r in labels:
        p = predicted.get(
            r["message_id"], {"stance": "none", "vote": None, "quoted_authors": [], "unsure": True}
        )
        confusion[(r["stance"], str(p["stance"]))] += 1
        if p["stance"] in ("support", "oppose", "concern") and not p["unsure"]:
            sure_claimed += 1
            sure_right += p["stance"] == r["stance"]
        if p["vote"] is not None:
            vote_found += 1
            vote_right += p["vote"] == r["vote"]
        gold_quoted = {_name(a) for a in r["quoted_authors"]}
        got_quoted = {_name(str(a)) for a in p["quoted_authors"]}  # type: ignore[attr-defined]
        quoted_ok += gold_quoted == got_quoted
        if errors and r["stance"] != p["stance"]:
            print(
                f"\n{r['message_id']} {r['author']}: gold {r['stance']} {r['vote']} got "
                f"{p['stance']} {p['vote']} (confidence {p.get('confidence', 0):.2f}"
                f"{', unsure' if p['unsure'] else ''})\n  gold evidence: {r['evidence']!r}\n"
                f"  our evidence:  {p.get('evidence')!r}\n  note: {r['note']}"
            )
    present = [c for c in STANCES if any(r["stance"] == c for r in labels)]
    print(f"{'class':<9} {'n':>3} {'pred':>4} {'prec':>6} {'recall':>6} {'F1':>6}")
    f1s = []
    for c in present:
        tp = confusion[(c, c)]
        n_pred = sum(v for (_, got), v in confusion.items() if got == c)
        n_gold = sum(v for (gold, _), v in confusion.items() if gold == c)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        print(f"{c:<9} {n_gold:>3} {n_pred:>4} {precision:>6.2f} {recall:>6.2f} {f1:>6.2f}")
    print(f"macro-F1 ({len(present)} classes present): {np.mean(f1s):.3f}")
    decisive = sum(1 for r in labels if r["stance"] in ("support", "oppose", "concern"))
    print(
        f"decisive positions claimed (not unsure): {sure_claimed}, precision "
        f"{sure_right / sure_claimed if sure_claimed else 0:.2f}, recall "
        f"{sure_right / decisive if decisive else 0:.2f}"
    )
    gold_votes = sum(1 for r in labels if r["vote"])
    print(
        f"votes: precision {vote_right / vote_found if vote_found else 1:.2f} recall "
        f"{vote_right / gold_votes if gold_votes else 1:.2f} ({vote_right} right, "
        f"{vote_found - vote_right} wrong, {gold_votes} labelled)"
    )
    print(f"quoted_authors exact-set accuracy: {quoted_ok / len(labels):.3f}")
    print("confusion (gold → predicted):")
    for gold in present:
        row = " ".join(
            f"{got}:{confusion[(gold, got)]}" for got in STANCES if confusion[(gold, got)]
        )
        print(f"  {gold:<8} {row}")
    if missing:
        print(f"{len(missing)} labelled messages not found: {missing[:5]}")


def _name(name: str) -> str:
    """Names compare without case, and addresses in either "a@b" or "a at b" form."""
    return name.casefold().replace(" at ", "@").strip()


if __name__ == "__main__":
    main()
