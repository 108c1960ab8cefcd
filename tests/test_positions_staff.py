"""Staff in the loop on positions: unsure positions shown as such and left out of tallies
everywhere (panel, API, export), one-action confirm and correct tied to the judged message,
the editors' queue and the admin page of the stance model.

Every test starts from the foundation list with positions of known values (the
`known_positions` fixture)."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select, true, update
from sqlalchemy.orm import Session

from app.audience import EVERYTHING, PUBLIC, Audience
from app.governance import DecisionFields, create_decision, link_decision
from app.models import (
    DecisionEvent,
    MailingList,
    Message,
    Position,
    PositionOverride,
    Thread,
)
from app.position_review import LOW_CONFIDENCE, review_queue
from app.positions import active_model, tally, thread_positions
from app.settings import settings_of
from tests.helpers import StaffClient, csrf_token, make_user, run_cli, sessions_of

SEED = "/lists/foundation/threads/1391522712.2459.12.camel@sorcha.example"
TOMAN = "<CF1A2E3B.3B1A2%troy.toman@rackspace.com>"
CARREZ_NAME = "Thierry Carrez"


def troy(session: Session) -> Message:
    return session.scalars(select(Message).where(Message.message_id == TOMAN)).one()


pytestmark = pytest.mark.usefixtures("known_positions")


@pytest.fixture
def known_positions(foundation_app: Flask) -> None:
    """The foundation list's machine positions set to known values, whatever the shipped
    model says: every one sure and confident, except Troy Toman's, an unsure "support"
    (+0.5)."""
    with sessions_of(foundation_app)() as session:
        session.execute(update(Position).values(unsure=False, confidence=0.95))
        session.execute(
            update(Position)
            .where(Position.message_pk == troy(session).id)
            .values(stance="support", vote="+0.5", unsure=True, confidence=0.4)
        )
        session.commit()


def troy_ids(app: Flask) -> tuple[int, int, int]:
    """(thread id, participant id, message pk) of Troy Toman's reply."""
    with sessions_of(app)() as session:
        message = troy(session)
        assert message.thread_id is not None and message.participant_id is not None
        return message.thread_id, message.participant_id, message.id


def panel_row(html: str, name: str) -> str:
    panel = html[html.index('id="positions-h"') :]
    row = re.search(rf"<tr [^>]*>\s*<td><a [^>]*>{name}</a></td>(.*?)</tr>", panel, re.S)
    assert row, f"no row for {name}"
    return row.group(1)


def exported(app: Flask) -> dict[str, dict[str, object]]:
    lines = run_cli(app, "export", "positions").output.splitlines()
    return {r["message_id"]: r for r in map(json.loads, lines)}


def test_unsure_positions_are_shown_as_such_and_left_out_of_every_tally(
    foundation_app: Flask,
) -> None:
    thread_id, participant, _ = troy_ids(foundation_app)
    with sessions_of(foundation_app)() as session:
        positions = thread_positions(session, thread_id)
        counts = tally(positions)
    current = {p.participant_id: p for p in positions}[participant]
    assert current.unsure and current.stance == "support"
    assert counts.unsure == 1
    assert sum(counts.stances.values()) == len(positions) - 1
    assert "+0.5" not in counts.votes

    html = foundation_app.test_client().get(SEED).get_data(as_text=True)
    row = re.sub(r"<[^>]+>", "", panel_row(html, "Troy Toman"))
    assert "unsure (best guess: support +0.5)" in " ".join(row.split())
    assert 'class="position unsure"' in html
    tally_text = " ".join(re.sub(r"<[^>]+>", "", html[html.index("tally-lines") :]).split())
    assert "unsure 1" in tally_text

    api = foundation_app.test_client().get(f"/api/v1/threads/{thread_id}/positions").get_json()
    by_id = {p["participant_id"]: p for p in api["positions"]}
    assert by_id[participant]["unsure"] is True
    assert api["tally"]["unsure"] == 1 and "+0.5" not in api["tally"]["votes"]
    listed = foundation_app.test_client().get(
        "/api/v1/positions", query_string={"message_id": TOMAN}
    )
    assert listed.get_json()["items"][0]["unsure"] is True

    records = exported(foundation_app)
    assert records[TOMAN]["unsure"] is True and records[TOMAN]["stance"] == "support"
    assert all(r["unsure"] is False for m, r in records.items() if m != TOMAN)


def test_a_correction_is_never_unsure(foundation_app: Flask, staff_client: StaffClient) -> None:
    client = staff_client("editor")
    _, participant, _ = troy_ids(foundation_app)
    client.post(
        f"{SEED}/positions",
        data={
            "csrf_token": csrf_token(client, SEED),
            "participant": participant,
            "stance": "concern",
            "note": "conditional",
        },
    )
    record = exported(foundation_app)[TOMAN]
    assert record["unsure"] is False and record["stance"] == "concern"
    assert record["method"] == "staff"


def test_confirming_records_the_machine_s_position_on_its_message(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    thread_id, participant, message_pk = troy_ids(foundation_app)
    client = staff_client("editor")
    response = client.post(
        f"{SEED}/positions/{participant}/confirm",
        data={"csrf_token": csrf_token(client, SEED)},
    )
    assert response.status_code == 302 and response.location.endswith(SEED)
    with sessions_of(foundation_app)() as session:
        override = session.scalars(select(PositionOverride)).one()
        assert (override.thread_id, override.participant_id) == (thread_id, participant)
        assert (override.stance, override.vote, override.message_pk) == (
            "support",
            "+0.5",
            message_pk,
        )
        assert override.note == "confirmed"
        event = session.scalars(
            select(DecisionEvent).where(DecisionEvent.kind == "position.confirmed")
        ).one()
        assert event.changes["message_pk"] == message_pk
        counts = tally(thread_positions(session, thread_id))
    assert counts.unsure == 0 and counts.votes.get("+0.5") == 1

    run_cli(foundation_app, "positions", "recompute")
    with sessions_of(foundation_app)() as session:
        current = {p.participant_id: p for p in thread_positions(session, thread_id)}
        assert session.scalars(select(PositionOverride.message_pk)).one() == message_pk
    assert current[participant].source == "staff" and current[participant].stance == "support"
    assert not current[participant].unsure
    html = client.get(SEED).get_data(as_text=True)
    assert "corrected by staff" in panel_row(html, "Troy Toman")


def test_a_confirmation_without_javascript_asks_and_with_it_answers_in_json(
    foundation_app: Flask,
    staff_client: StaffClient,
) -> None:
    _, participant, _ = troy_ids(foundation_app)
    client = staff_client("editor")
    response = client.post(
        f"{SEED}/positions/{participant}/confirm",
        data={"csrf_token": csrf_token(client, SEED)},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["message"] == "Position confirmed."
    assert "corrected by staff" in body["row"] and "Troy Toman" in body["row"]
    assert "unsure" not in body["row"] and "unsure" not in body["tally"]
    assert "“confirmed”" not in body["row"]  # staff agree: the machine's quote still stands
    again = client.post(
        f"{SEED}/positions/{participant}/confirm",
        data={"csrf_token": csrf_token(client, SEED)},
        headers={"Accept": "application/json"},
    )
    assert again.status_code == 422 and "participant" in again.get_json()["errors"]


def test_correcting_records_staff_s_stance_on_the_judged_message(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    thread_id, participant, message_pk = troy_ids(foundation_app)
    client = staff_client("editor")
    response = client.post(
        f"{SEED}/positions",
        data={
            "csrf_token": csrf_token(client, SEED),
            "participant": participant,
            "message": message_pk,
            "stance": "neutral",
            "vote": "+0",
            "note": "sarcasm",
        },
    )
    assert response.status_code == 302
    run_cli(foundation_app, "positions", "recompute")
    with sessions_of(foundation_app)() as session:
        override = session.scalars(select(PositionOverride)).one()
        assert (override.stance, override.vote, override.message_pk) == (
            "neutral",
            "+0",
            message_pk,
        )
        event = session.scalars(
            select(DecisionEvent).where(DecisionEvent.kind == "position.corrected")
        ).one()
        assert event.changes["message_pk"] == message_pk
        assert event.changes["after"] == {"stance": "neutral", "vote": "+0"}
        current = {p.participant_id: p for p in thread_positions(session, thread_id)}
    # Staff read him otherwise than the machine does (it reads a side): their reason shows.
    assert current[participant].stance == "neutral" and current[participant].source == "staff"
    assert current[participant].evidence == "sarcasm"  # staff's reason, not the misread quote

    # Another participant's message is not Troy's to be judged on.
    with sessions_of(foundation_app)() as session:
        other = session.scalar(
            select(Message.id).where(
                Message.thread_id == thread_id, Message.participant_id != participant
            )
        )
    refused = client.post(
        f"{SEED}/positions",
        data={
            "csrf_token": csrf_token(client, SEED),
            "participant": participant,
            "message": other,
            "stance": "support",
            "note": "x",
        },
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422 and "message_id" in refused.get_json()["errors"]


def api_token(app: Flask, role: str) -> str:
    make_user(app, f"{role}-api", role)
    output = run_cli(app, "users", "token", f"{role}-api").output
    return output.strip().splitlines()[-1]


def test_the_api_correction_is_judged_on_a_message(foundation_app: Flask) -> None:
    thread_id, participant, message_pk = troy_ids(foundation_app)
    headers = {"Authorization": f"Bearer {api_token(foundation_app, 'editor')}"}
    url = f"/api/v1/threads/{thread_id}/positions/{participant}"
    client = foundation_app.test_client()
    default = client.put(url, json={"stance": "concern", "note": "conditional"}, headers=headers)
    assert default.status_code == 200, default.get_json()
    row = {p["participant_id"]: p for p in default.get_json()["positions"]}[participant]
    assert row["source"] == "staff" and row["unsure"] is False
    with sessions_of(foundation_app)() as session:
        assert session.scalars(select(PositionOverride.message_pk)).one() == message_pk

    named = client.put(
        url,
        json={"stance": "support", "note": "reread", "message_id": TOMAN.strip("<>")},
        headers=headers,
    )
    assert named.status_code == 200
    with sessions_of(foundation_app)() as session:
        override = session.scalars(select(PositionOverride)).one()
    assert (override.stance, override.message_pk) == ("support", message_pk)

    unknown = client.put(
        url, json={"stance": "support", "note": "x", "message_id": "<nope@x>"}, headers=headers
    )
    assert unknown.status_code == 422 and "message_id" in unknown.get_json()["errors"]


@pytest.mark.parametrize("role", [None, "viewer", "editor", "admin"])
def test_who_may_confirm_correct_and_review(
    foundation_app: Flask, staff_client: StaffClient, role: str | None
) -> None:
    _, participant, _ = troy_ids(foundation_app)
    client = staff_client(role)
    token = csrf_token(client, SEED if role else "/login")
    confirm = client.post(f"{SEED}/positions/{participant}/confirm", data={"csrf_token": token})
    correct = client.post(
        f"{SEED}/positions",
        data={"csrf_token": token, "participant": participant, "stance": "none", "note": "x"},
    )
    queue = client.get("/positions/queue")
    model = client.get("/admin/model")
    allowed = role in ("editor", "admin")
    assert confirm.status_code == (302 if allowed else 403)
    assert correct.status_code == (302 if allowed else 403)
    assert queue.status_code == (200 if allowed else 302 if role is None else 403)
    assert model.status_code == (200 if role == "admin" else 302 if role is None else 403)
    with sessions_of(foundation_app)() as session:
        assert (session.scalar(select(PositionOverride.id)) is not None) == allowed
    page = client.get(SEED).get_data(as_text=True)
    assert ("Confirm" in page) == allowed
    assert ("Review positions" in page) == allowed
    assert ("Stance model" in page) == (role == "admin")


def second_thread(app: Flask) -> int:
    with sessions_of(app)() as session:
        thread_id, _, _ = troy_ids(app)
        other = session.scalar(select(Thread.id).where(Thread.id != thread_id))
        assert other is not None
        return other


def queued_threads(items: list[object]) -> list[int]:
    order: list[int] = []
    for item in items:
        thread_id = item.thread.id  # type: ignore[attr-defined]
        if thread_id not in order:
            order.append(thread_id)
    return order


def test_the_queue_puts_decision_threads_first_and_drops_reviewed_positions(
    foundation_app: Flask,
    staff_client: StaffClient,
) -> None:
    seed, participant, _ = troy_ids(foundation_app)
    other = second_thread(foundation_app)
    with sessions_of(foundation_app)() as session:
        session.execute(update(Position).where(Position.thread_id == other).values(unsure=True))
        # The seed thread is the more recently active one: without a link it comes first.
        session.execute(update(Thread).where(Thread.id == other).values(last_date=date(2000, 1, 1)))
        session.commit()
        items, more = review_queue(session, EVERYTHING)
        assert queued_threads(items) == [seed, other] and not more
        decision = create_decision(session, DecisionFields(title="Events"), None)
        link_decision(session, decision, None, thread_id=other)
        session.commit()
        items, _ = review_queue(session, EVERYTHING)
        assert queued_threads(items) == [other, seed]
        assert all(i.linked == (i.thread.id == other) for i in items)
        # Only unsure or low-confidence current positions of no staff decision are listed.
        assert all(i.position.unsure or i.position.confidence < LOW_CONFIDENCE for i in items)
        assert [i.position.participant_id for i in items if i.thread.id == seed] == [participant]
        first, more = review_queue(session, EVERYTHING, page=1, per_page=1)
        second, _ = review_queue(session, EVERYTHING, page=2, per_page=1)
        assert more and first[0].position.participant_id != second[0].position.participant_id

    client = staff_client("editor")
    html = client.get("/positions/queue").get_data(as_text=True)
    assert "Troy Toman" in html and "0.40" in html
    assert html.index("dial-in") < html.index("Troy Toman")  # the linked thread first
    client.post(
        f"{SEED}/positions/{participant}/confirm",
        data={"csrf_token": csrf_token(client, "/positions/queue"), "queue_page": "1"},
    )
    html = client.get("/positions/queue").get_data(as_text=True)
    assert "Troy Toman" not in html


def test_the_queue_keeps_to_what_its_reader_may_read(foundation_app: Flask) -> None:
    with sessions_of(foundation_app)() as session:
        assert review_queue(session, PUBLIC)[0]
        troy(session).hidden = True
        session.commit()
        not_hidden = Audience(true(), Message.hidden.is_(False))
        assert review_queue(session, not_hidden)[0] == []
        assert review_queue(session, EVERYTHING)[0]  # editors see hidden messages, marked
        troy(session).hidden = False
        session.commit()
    run_cli(foundation_app, "lists", "set", "foundation", "--private")
    with sessions_of(foundation_app)() as session:
        assert session.scalar(select(MailingList.visibility)) == "private"
        assert review_queue(session, PUBLIC)[0] == []
        assert review_queue(session, EVERYTHING)[0]


def test_the_admin_page_shows_the_active_model_s_record(
    foundation_app: Flask, staff_client: StaffClient
) -> None:
    client = staff_client("admin")
    html = client.get("/admin/model").get_data(as_text=True)
    info = active_model(settings_of(foundation_app).home).info
    evaluation = info["evaluation"]
    assert f"<dd>{info['name']}</dd>" in html
    assert f"{evaluation['macro_f1']:.3f}" in html
    assert "shipped with Quorum" in html
    for stance, scores in evaluation["per_class"].items():
        row = re.search(rf'<th scope="row">{stance}</th>(.*?)</tr>', html, re.S)
        assert row and f"{scores['recall']:.2f}" in row.group(1)
    assert str(info["examples"]) in html
