"""Score the position extractor against the hand-labelled stance set.

    .venv/bin/python bench/positions_eval.py [--errors]
        [--eval ../shared/eval/stance] [--corpora ../shared/corpora]

Ingests only the monthly archive files the labels name (from the twisted-python corpus) into
a temporary SQLite home — the same path as ``quorum ingest``, so positions are derived by
the ingest hook — then prints per-class precision/recall/F1, macro-F1 (over the classes
present in the labels), vote precision/recall, the accuracy of quoted authors, and the time
spent. ``--errors`` lists every disagreement with its evidence, to study rules (never to add
per-message special cases).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from app.importer import run_ingest  # noqa: E402
from app.models import Message, Position  # noqa: E402
from app.settings import load_settings  # noqa: E402
from ingest.segments import segment_body  # noqa: E402
from ingest.stance import extract_stance  # noqa: E402

CLASSES = ("support", "oppose", "concern", "neutral", "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval" / "stance")
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--errors", action="store_true", help="list every disagreement")
    args = parser.parse_args()

    labels = [json.loads(line) for line in (args.eval / "labels.jsonl").open()]
    threads = [json.loads(line) for line in (args.eval / "threads.jsonl").open()]
    months = sorted({r["archive_file"] for r in [*labels, *threads]})
    archive = args.corpora / "twisted-python" / "archive"
    files = [archive / m for m in months if (archive / m).exists()]
    files += [archive / f"{m}.gz" for m in months if not (archive / m).exists()]

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings({"home": home, "database_url": ""})
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        account = run_ingest(sessions, settings, files, list_name="twisted-python", progress=False)
        elapsed = time.perf_counter() - started
        with sessions() as session:
            predicted = _predictions(session, {r["message_id"] for r in labels})
            bodies = list(session.scalars(select(Message.body)))
        engine.dispose()

    print(
        f"ingested {account.read} messages ({account.stored} stored) from {len(files)} monthly"
        f" files in {elapsed:.1f} s, positions included"
    )
    _report(labels, predicted, args.errors)
    _throughput(bodies)


def _throughput(bodies: list[str]) -> None:
    """Segmentation + stance alone (pure, one core): the median of three passes, by the
    wall clock and by the CPU time of this process (the machine may be shared)."""
    walls, cpus = [], []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        for body in bodies:
            extract_stance(body, segment_body(body))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall_s, cpu_s = sorted(walls)[1], sorted(cpus)[1]
    print(
        f"segmentation + stance over {len(bodies)} bodies: {len(bodies) / wall_s:.0f} messages/s"
        f" wall, {len(bodies) / cpu_s:.0f} messages/s CPU"
        f" ({cpu_s / len(bodies) * 1000:.3f} ms CPU per message; median of 3 passes)"
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
            "vote": p.vote,
            "evidence": p.evidence,
            "method": p.method,
            "quoted_authors": sorted({q["author"] for q in p.quoted if q["author"]}),
        }
        for message_id, p in rows
    }


def _report(labels: list[dict], predicted: dict[str, dict[str, object]], errors: bool) -> None:
    missing = [r["message_id"] for r in labels if r["message_id"] not in predicted]
    confusion: Counter[tuple[str, str]] = Counter()
    vote_tp = vote_fp = vote_fn = 0
    quoted_ok = 0
    for r in labels:
        p = predicted.get(r["message_id"], {"stance": "none", "vote": None, "quoted_authors": []})
        confusion[(r["stance"], str(p["stance"]))] += 1
        if p["vote"] is not None:
            if p["vote"] == r["vote"]:
                vote_tp += 1
            else:
                vote_fp += 1
        if r["vote"] is not None and p["vote"] != r["vote"]:
            vote_fn += 1
        gold_quoted = {_name(a) for a in r["quoted_authors"]}
        got_quoted = {_name(str(a)) for a in p["quoted_authors"]}  # type: ignore[union-attr]
        quoted_ok += gold_quoted == got_quoted
        if errors and (r["stance"] != p["stance"] or gold_quoted != got_quoted):
            print(
                f"\n{r['message_id']} {r['author']}: gold {r['stance']} {r['vote']} "
                f"got {p['stance']} {p['vote']} ({p.get('method')})"
                f"\n  gold evidence: {r['evidence']!r}\n  our evidence:  {p.get('evidence')!r}"
                f"\n  quoted gold {sorted(gold_quoted)} got {sorted(got_quoted)}"
                f"\n  note: {r['note']}"
            )
    present = [c for c in CLASSES if any(r["stance"] == c for r in labels)]
    print(f"\n{'class':<9} {'n':>3} {'pred':>4} {'prec':>6} {'recall':>6} {'F1':>6}")
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
    print(f"macro-F1 ({len(present)} classes present): {sum(f1s) / len(f1s):.3f}")
    four = [f for c, f in zip(present, f1s, strict=True) if c != "none"]
    print(f"macro-F1 (support, oppose, concern, neutral): {sum(four) / len(four):.3f}")
    vote_p = vote_tp / (vote_tp + vote_fp) if vote_tp + vote_fp else 1.0
    vote_r = vote_tp / (vote_tp + vote_fn) if vote_tp + vote_fn else 1.0
    print(
        f"votes: precision {vote_p:.2f} recall {vote_r:.2f} ({vote_tp} right, "
        f"{vote_fp} wrong, {vote_fn} missed)"
    )
    print(f"quoted_authors exact-set accuracy: {quoted_ok / len(labels):.3f}")
    print("confusion (gold → predicted):")
    for gold in present:
        row = " ".join(
            f"{got}:{confusion[(gold, got)]}" for got in CLASSES if confusion[(gold, got)]
        )
        print(f"  {gold:<8} {row}")
    if missing:
        print(f"{len(missing)} labelled messages not found: {missing[:5]}")


def _name(name: str) -> str:
    """Names compare without case, and addresses in either "a@b" or "a at b" form."""
    return name.casefold().replace(" at ", "@").strip()


if __name__ == "__main__":
    main()
