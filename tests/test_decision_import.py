"""`quorum import decisions`: the demo's decision, idempotent reruns, and honest problems."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from app.models import DecisionLink
from tests.helpers import EXAMPLES, run_cli, sessions_of

DEMO_DECISIONS = EXAMPLES / "decisions.jsonl"


def test_the_demo_decision_is_linked_to_the_seed_thread_and_message(app: Flask) -> None:
    run_cli(app, "ingest", str(EXAMPLES / "foundation"))
    result = run_cli(app, "import", "decisions", str(DEMO_DECISIONS))
    assert result.exit_code == 0, result.output
    assert "1 decisions written, 2 links added" in result.stdout
    page = app.test_client().get("/decisions/interoperability-simpler-first-steps")
    html = page.get_data(as_text=True)
    assert "The two types of interoperability" in html
    assert "Troy Toman: The two types of interoperability" in html
    thread = app.test_client().get(
        "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"
    )
    assert "Approach interoperability in simpler first steps" in thread.get_data(as_text=True)


def test_importing_twice_adds_no_link_twice_and_export_round_trips(app: Flask) -> None:
    run_cli(app, "ingest", str(EXAMPLES / "foundation"))
    run_cli(app, "import", "decisions", str(DEMO_DECISIONS))
    again = run_cli(app, "import", "decisions", str(DEMO_DECISIONS))
    assert "1 decisions written, 0 links added" in again.stdout
    with sessions_of(app)() as session:
        assert session.scalar(select(func.count(DecisionLink.id))) == 2
    exported = json.loads(run_cli(app, "export", "decisions").stdout)
    original = json.loads(DEMO_DECISIONS.read_text())
    for key in ("slug", "title", "status", "decided_by", "summary", "tags"):
        assert exported[key] == original[key]
    assert [(x["relation"], x["message_id"]) for x in exported["links"]] == [
        (x["relation"], x["message_id"]) for x in original["links"]
    ]


def test_problems_are_reported_and_good_lines_still_load(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "decisions.jsonl"
    source.write_text(
        "not json\n"
        + json.dumps({"slug": "no-title", "title": ""})
        + "\n"
        + json.dumps(
            {
                "slug": "fine",
                "title": "Fine",
                "links": [
                    {
                        "list": "nowhere",
                        "thread_id": "<missing@example.org>",
                        "relation": "discussion",
                    }
                ],
            }
        )
        + "\n"
    )
    result = run_cli(app, "import", "decisions", str(source))
    assert "1 decisions written, 0 links added" in result.stdout
    problems = result.stderr.strip().splitlines()
    assert len(problems) == 3
    assert "line 1" in problems[0] and "line 2" in problems[1] and "title" in problems[1]
    assert "<missing@example.org> is not archived in list 'nowhere'" in problems[2]


def test_overlong_fields_are_problems_not_database_errors(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "long.jsonl"
    source.write_text(json.dumps({"slug": "long", "title": "T", "decided_by": "x" * 201}) + "\n")
    result = run_cli(app, "import", "decisions", str(source))
    assert "0 decisions written" in result.stdout
    assert "decided_by" in result.stderr
