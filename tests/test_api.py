"""The JSON API on the demo archive, on a real database: what each endpoint returns, who may
see and change what, and how errors, pages, CORS, tokens and rate limits behave."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.models import ApiToken, DecisionEvent, MailingList, Message, User
from tests.helpers import (
    build_app,
    csrf_token,
    import_shipped_decisions,
    make_user,
    run_cli,
    sessions_of,
    signed_in,
)

TROY = "<CF1A2E3B.3B1A2%troy.toman@rackspace.com>"
THIERRY = "<52F2296B.6040304@openstack.org>"
SEED_ROOT = "<1391522712.2459.12.camel@sorcha.example>"
SLUG = "interoperability-simpler-first-steps"
PRIVATE_MBOX = (
    b"From staff@example.org Mon Jan  6 10:00:00 2014\n"
    b"From: Board Secretary <secretary@example.org>\n"
    b"Subject: Board minutes draft\n"
    b"Message-ID: <private-1@example.org>\n"
    b"Date: Mon, 6 Jan 2014 10:00:00 +0100\n\n"
    b"Not for the public yet.\n"
)


@pytest.fixture
def shipped_demo_and_board(foundation_app: Flask, tmp_path: Any) -> Flask:
    """All `make demo` loads (the foundation list and the decision of
    examples/decisions.jsonl), plus a private list `board` of one message."""
    import_shipped_decisions(foundation_app)
    private = tmp_path / "board.mbox"
    private.write_bytes(PRIVATE_MBOX)
    run_cli(foundation_app, "ingest", str(private), "--list", "board")
    with sessions_of(foundation_app)() as session:
        session.execute(
            update(MailingList).where(MailingList.name == "board").values(visibility="private")
        )
        session.commit()
    return foundation_app


def token_for(app: Flask, role: str) -> str:
    make_user(app, f"api-{role}", role)
    result = run_cli(app, "users", "token", f"api-{role}", "--label", "tests")
    assert result.exit_code == 0, result.output
    return result.output.strip()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_json(client: FlaskClient, url: str, status: int = 200, **kwargs: Any) -> Any:
    response = client.get(url, **kwargs)
    assert response.status_code == status, (url, response.get_data(as_text=True))
    return response.get_json()


def hide(app: Flask, message_id: str) -> None:
    with sessions_of(app)() as session:
        session.execute(update(Message).where(Message.message_id == message_id).values(hidden=True))
        session.commit()


def test_lists_threads_and_messages_of_the_demo(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    lists = get_json(client, "/api/v1/lists")
    assert [item["name"] for item in lists["items"]] == ["foundation"]
    foundation = lists["items"][0]
    assert foundation["message_count"] == 6
    assert foundation["first_date"].endswith("+00:00")

    threads = get_json(client, "/api/v1/threads?list=foundation")["items"]
    seed = next(t for t in threads if t["thread_id"] == SEED_ROOT)
    detail = get_json(client, seed["urls"]["self"])
    by_id = {m["message_id"]: m for m in detail["messages"]}
    assert by_id[TROY]["parent_id"] == THIERRY
    assert by_id[TROY]["depth"] > by_id[THIERRY]["depth"]

    messages = get_json(client, "/api/v1/messages?list=foundation")["items"]
    assert len(messages) == 6
    assert [m["date"] for m in messages] == sorted(
        (m["date"] for m in messages), key=datetime.fromisoformat
    )


def test_a_message_has_the_export_fields_segments_and_raw_link(
    shipped_demo_and_board: Flask,
) -> None:
    client = shipped_demo_and_board.test_client()
    without_brackets = get_json(
        client, "/api/v1/messages/CF1A2E3B.3B1A2%25troy.toman@rackspace.com"
    )
    message = get_json(client, f"/api/v1/messages/{TROY}")
    assert without_brackets == message
    exported = next(
        record
        for record in map(
            json.loads, run_cli(shipped_demo_and_board, "export", "messages").output.splitlines()
        )
        if record["message_id"] == TROY
    )
    for field in ("list", "thread_id", "parent_id", "parent_via", "subject", "date", "from_name"):
        assert message[field] == exported[field], field
    assert datetime.fromisoformat(message["date"]).utcoffset() is not None
    assert message["from_address"] == "troy.toman at rackspace.com"
    kinds = [s["kind"] for s in message["segments"]]
    assert "own" in kinds and "quoted" in kinds
    own = next(s for s in message["segments"] if s["kind"] == "own" and "simpler" in s["text"])
    assert message["body"][own["offset"] :].startswith(own["text"][:20])
    raw = client.get(message["urls"]["raw"])
    assert raw.status_code == 200 and raw.mimetype == "message/rfc822"


def test_participants_and_their_counts(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    people = get_json(client, "/api/v1/participants?q=troy")["items"]
    assert [p["name"] for p in people] == ["Troy Toman"]
    troy = get_json(client, people[0]["urls"]["self"])
    assert troy["lists"] == [{"list": "foundation", "message_count": 1}]
    assert troy["addresses"] == ["troy.toman at rackspace.com"]
    mine = get_json(client, f"/api/v1/messages?participant={troy['id']}")["items"]
    assert [m["message_id"] for m in mine] == [TROY]


def test_positions_per_message_and_per_thread(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    positions = get_json(client, f"/api/v1/positions?message_id={TROY.strip('<>')}")["items"]
    assert len(positions) == 1
    troy = positions[0]
    assert troy["participant"] == "Troy Toman"
    if troy["evidence"] is not None:
        message = get_json(client, f"/api/v1/messages/{TROY}")
        assert message["body"][troy["evidence_start"] : troy["evidence_end"]] == troy["evidence"]
    thread = get_json(client, f"/api/v1/threads/{troy['thread']}/positions")
    counted = sum(thread["tally"]["stances"].values())  # unsure positions are counted apart
    assert counted + thread["tally"]["unsure"] == len(thread["positions"])
    assert any(p["participant"] == "Troy Toman" for p in thread["positions"])


def test_decisions_and_tags_are_public(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    decisions = get_json(client, "/api/v1/decisions")["items"]
    assert [d["slug"] for d in decisions] == [SLUG]
    decision = get_json(client, f"/api/v1/decisions/{SLUG}")
    assert decision["links"] and all(link["list"] == "foundation" for link in decision["links"])
    tags = get_json(client, "/api/v1/tags")["items"]
    assert {t["name"] for t in tags} == set(decision["tags"])
    by_tag = get_json(client, f"/api/v1/decisions?tag={decision['tags'][0]}")["items"]
    assert [d["slug"] for d in by_tag] == [SLUG]


def test_private_lists_and_hidden_messages_need_access(shipped_demo_and_board: Flask) -> None:
    hide(shipped_demo_and_board, THIERRY)
    client = shipped_demo_and_board.test_client()
    assert [i["name"] for i in get_json(client, "/api/v1/lists")["items"]] == ["foundation"]
    get_json(client, "/api/v1/lists/board", 404)
    get_json(client, "/api/v1/messages/private-1@example.org", 404)
    get_json(client, "/api/v1/threads?list=board", 404)
    assert get_json(client, "/api/v1/messages/52F2296B.6040304@openstack.org", 410)["status"] == 410
    ids = [m["message_id"] for m in get_json(client, "/api/v1/messages?limit=200")["items"]]
    assert THIERRY not in ids and "<private-1@example.org>" not in ids
    assert not any(
        p["name"] == "Board Secretary" for p in get_json(client, "/api/v1/participants")["items"]
    )

    viewer = bearer(token_for(shipped_demo_and_board, "viewer"))
    names = [i["name"] for i in get_json(client, "/api/v1/lists", headers=viewer)["items"]]
    assert names == ["board", "foundation"]
    private = get_json(client, "/api/v1/messages/private-1@example.org", headers=viewer)
    assert private["from_address"] == "secretary@example.org"  # staff see addresses in full


def test_cursor_pages_walk_every_item_once(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    everything = [m["message_id"] for m in get_json(client, "/api/v1/messages")["items"]]
    seen, url = [], "/api/v1/messages?limit=4"
    while url:
        response = client.get(url)
        body = response.get_json()
        seen += [m["message_id"] for m in body["items"]]
        assert ("Link" in response.headers) == (body["next_cursor"] is not None)
        url = response.headers["Link"].split(">")[0].lstrip("<") if body["next_cursor"] else ""
    assert seen == everything and len(seen) == 6
    threads = get_json(client, "/api/v1/threads?limit=1")
    cursor = threads["next_cursor"]
    problem = get_json(client, f"/api/v1/messages?cursor={cursor}", 400)
    assert "cursor" in problem["errors"]


@pytest.mark.parametrize(
    ("url", "status", "parameter"),
    [
        ("/api/v1/messages?limit=0", 400, "limit"),
        ("/api/v1/messages?limit=5O", 400, "limit"),
        ("/api/v1/messages?since=2014-02-30", 400, "since"),
        ("/api/v1/messages?until=yesterday", 400, "until"),
        ("/api/v1/positions?stance=maybe", 400, "stance"),
        ("/api/v1/nothing-here", 404, None),
        ("/api/v1/threads/999999", 404, None),
        (f"/api/v1/threads/{2**31}", 404, None),
        ("/api/v1/decisions/no-such-decision", 404, None),
    ],
)
def test_errors_are_problem_details_never_html(
    sqlite_app: Flask, url: str, status: int, parameter: str | None
) -> None:
    response = sqlite_app.test_client().get(url)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["type"] == "about:blank"
    assert problem["instance"] == url.split("?")[0]
    if parameter:
        assert parameter in problem["errors"]


def test_a_wrong_method_is_a_405_problem_with_allow(sqlite_app: Flask) -> None:
    response = sqlite_app.test_client().delete("/api/v1/lists")
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_dates_filter_by_range_inclusive_of_whole_days(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    all_dates = [m["date"] for m in get_json(client, "/api/v1/messages")["items"]]
    first_day = datetime.fromisoformat(all_dates[0]).astimezone().date()
    day = get_json(client, f"/api/v1/messages?since={first_day}&until={first_day}")["items"]
    assert 1 <= len(day) < len(all_dates)
    none = get_json(client, "/api/v1/messages?since=2015-01-01T00:00:00Z")["items"]
    assert none == []


def test_reads_allow_any_origin_writes_do_not(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    read = client.get("/api/v1/lists")
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in read.headers["Vary"]
    preflight = client.options("/api/v1/lists")
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    write = client.post("/api/v1/decisions", json={"title": "x"})
    assert write.status_code == 401
    assert "Access-Control-Allow-Origin" not in write.headers
    assert write.headers["WWW-Authenticate"].startswith("Bearer")


def test_tokens_are_stored_hashed_and_can_be_revoked(shipped_demo_and_board: Flask) -> None:
    secret = token_for(shipped_demo_and_board, "editor")
    client = shipped_demo_and_board.test_client()
    with sessions_of(shipped_demo_and_board)() as session:
        token = session.scalars(select(ApiToken)).one()
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in token.token_hash
        get_json(client, "/api/v1/lists", headers=bearer(secret))
        session.refresh(token)
        assert token.last_used_at is not None
        token.revoked_at = token.last_used_at
        session.commit()
    problem = get_json(client, "/api/v1/lists", 401, headers=bearer(secret))
    assert "revoked" in problem["detail"]
    get_json(client, "/api/v1/lists", 401, headers={"Authorization": "Basic abc"})
    get_json(client, "/api/v1/lists", 401, headers=bearer("qrm_not-a-real-token"))


def test_users_token_refuses_unknown_users(sqlite_app: Flask) -> None:
    result = run_cli(sqlite_app, "users", "token", "nobody")
    assert result.exit_code == 2
    assert "no active user" in result.output


WRITES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("edit_decisions", "post", "/api/v1/decisions", {"title": "Adopt a code of conduct"}),
    ("edit_decisions", "patch", f"/api/v1/decisions/{SLUG}", {"status": "deferred"}),
    ("link_discussions", "post", f"/api/v1/decisions/{SLUG}/links", {"message_id": TROY}),
    ("edit_tags", "put", "/api/v1/threads/{thread}/tags", {"tags": ["interop"]}),
    (
        "correct_positions",
        "put",
        "/api/v1/threads/{thread}/positions/{participant}",
        {"stance": "support", "vote": "+1", "note": "Says so in his closing line."},
    ),
]


def _ids(app: Flask) -> dict[str, int]:
    with sessions_of(app)() as session:
        troy = session.scalars(select(Message).where(Message.message_id == TROY)).one()
        assert troy.thread_id and troy.participant_id
        return {"thread": troy.thread_id, "participant": troy.participant_id}


@pytest.mark.parametrize("role", [None, "viewer", "editor", "admin"])
def test_permissions_matrix_for_writes(shipped_demo_and_board: Flask, role: str | None) -> None:
    headers = bearer(token_for(shipped_demo_and_board, role)) if role else {}
    client = shipped_demo_and_board.test_client()
    ids = _ids(shipped_demo_and_board)
    for _action, method, url, body in WRITES:
        response = getattr(client, method)(url.format(**ids), json=body, headers=headers)
        expected = {None: {401}, "viewer": {403}}.get(role, {200, 201})
        assert response.status_code in expected, (url, response.get_data(as_text=True))
    with sessions_of(shipped_demo_and_board)() as session:
        events = session.scalars(
            select(DecisionEvent)
            .join(User, User.id == DecisionEvent.user_id)
            .where(User.name == f"api-{role}", DecisionEvent.kind != "token.created")
        ).all()
    assert len(events) == (len(WRITES) if role in ("editor", "admin") else 0)


def test_writes_go_through_the_domain_rules(shipped_demo_and_board: Flask) -> None:
    headers = bearer(token_for(shipped_demo_and_board, "editor"))
    client = shipped_demo_and_board.test_client()
    created = client.post(
        "/api/v1/decisions",
        json={"title": "Trademark programme", "status": "accepted", "tags": ["Brand Policy"]},
        headers=headers,
    )
    assert created.status_code == 422
    assert "decided_on" in created.get_json()["errors"]
    created = client.post(
        "/api/v1/decisions",
        json={
            "title": "Trademark programme",
            "status": "accepted",
            "decided_on": "2014-03-04",
            "tags": ["Brand Policy"],
        },
        headers=headers,
    )
    assert created.status_code == 201
    decision = created.get_json()
    assert created.headers["Location"] == decision["urls"]["self"]
    assert decision["tags"] == ["brand-policy"] and decision["decided_on"] == "2014-03-04"

    bad = client.post("/api/v1/decisions", json={"title": "x", "colour": "red"}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["errors"] == {"colour": "Unknown field."}
    form = client.post("/api/v1/decisions", data={"title": "x"}, headers=headers)
    assert form.status_code == 415

    linked = client.post(
        f"/api/v1/decisions/{decision['slug']}/links",
        json={"message_id": TROY, "relation": "vote", "note": "Troy's +1"},
        headers=headers,
    ).get_json()
    link = linked["links"][0]
    assert (link["message_id"], link["relation"]) == (TROY, "vote")
    removed = client.delete(
        f"/api/v1/decisions/{decision['slug']}/links/{link['id']}", headers=headers
    )
    assert removed.status_code == 204
    assert get_json(client, decision["urls"]["self"])["links"] == []


def test_writes_are_rate_limited_per_user(app: Flask, tmp_path: Any) -> None:
    limited = build_app(
        app.config["QUORUM"].database_url, tmp_path / "limited", api={"writes_per_minute": 2}
    )
    headers = bearer(token_for(limited, "editor"))
    client = limited.test_client()
    statuses = [
        client.post("/api/v1/decisions", json={"title": f"D{n}"}, headers=headers).status_code
        for n in range(3)
    ]
    assert statuses == [201, 201, 429]
    refused = client.post("/api/v1/decisions", json={"title": "D4"}, headers=headers)
    assert refused.headers["Retry-After"] == "60"
    assert refused.mimetype == "application/problem+json"
    limited.extensions["quorum.engine"].dispose()


def test_the_openapi_document_describes_every_api_route(sqlite_app: Flask) -> None:
    document = get_json(sqlite_app.test_client(), "/api/v1/openapi.json")
    documented = {
        (method.upper(), "/api/v1" + path)
        for path, item in document["paths"].items()
        for method in item
    }
    routed = {
        (method, rule.rule.replace("<", "{").replace(">", "}"))
        for rule in sqlite_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        and rule.endpoint not in ("api.openapi_document", "api.docs_page")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    normalised = {(m, _strip_converters(p)) for m, p in routed}
    assert normalised == documented


def _strip_converters(path: str) -> str:
    return re.sub(r"\{(?:\w+(?:\([^)]*\))?:)?(\w+)\}", r"{\1}", path)


def test_search_is_the_search_page_function_with_the_readers_visibility(
    shipped_demo_and_board: Flask,
) -> None:
    client = shipped_demo_and_board.test_client()
    found = get_json(client, "/api/v1/search?q=interoperability&sort=oldest&limit=2")
    assert found["total"] >= 3 and len(found["items"]) == 2
    assert found["facets"]["lists"] == {"foundation": found["total"]}
    assert "<mark>" in found["items"][0]["snippet"]
    dates = [hit["date"] for hit in found["items"]]
    assert dates == sorted(dates)
    rest = get_json(
        client,
        f"/api/v1/search?q=interoperability&sort=oldest&cursor={found['next_cursor']}&limit=2",
    )
    assert not {h["message_id"] for h in rest["items"]} & {h["message_id"] for h in found["items"]}
    grouped = get_json(client, "/api/v1/search?q=interoperability&group=thread")
    assert grouped["grouped"] and grouped["total"] == len(
        {h["thread_id"] for h in grouped["items"]}
    )

    assert get_json(client, "/api/v1/search?q=minutes")["total"] == 0  # the private list
    viewer = bearer(token_for(shipped_demo_and_board, "viewer"))
    assert get_json(client, "/api/v1/search?q=minutes", headers=viewer)["total"] == 1

    problem = get_json(client, "/api/v1/search?q=date:2014-13", 400)
    assert "q" in problem["errors"]
    get_json(client, "/api/v1/search", 400)


def test_staff_create_and_revoke_their_tokens_in_the_app(shipped_demo_and_board: Flask) -> None:
    client = signed_in(shipped_demo_and_board, "viewer")
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "Your API tokens" in page
    created = client.post(
        "/account/tokens", data={"csrf_token": csrf_token(client, "/account/tokens"), "label": "R"}
    ).get_data(as_text=True)
    secret = re.search(r'<code class="secret">(qrm_[\w-]+)</code>', created)
    assert secret, created
    assert secret.group(1) not in client.get("/account/tokens").get_data(as_text=True)
    lists = get_json(
        shipped_demo_and_board.test_client(), "/api/v1/lists", headers=bearer(secret.group(1))
    )
    assert "board" in [item["name"] for item in lists["items"]]

    with sessions_of(shipped_demo_and_board)() as session:
        token_id = session.scalars(select(ApiToken.id)).one()
    revoke = client.post(
        f"/account/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token(client, "/account/tokens")},
    )
    assert revoke.status_code == 302
    get_json(
        shipped_demo_and_board.test_client(), "/api/v1/lists", 401, headers=bearer(secret.group(1))
    )
    assert (
        shipped_demo_and_board.test_client().get("/account/tokens").status_code == 302
    )  # sign in first


def test_quorum_serve_starts_its_workers_outside_any_app_context(
    sqlite_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers forked inside an app context would share one `g` across all requests: one
    request's anonymous caller became the next one's, and a token was ignored."""
    seen: list[bool] = []
    monkeypatch.setattr("app.cli.serve_forever", lambda *_args: seen.append(has_app_context()))
    result = run_cli(sqlite_app, "serve", "--port", "0")
    assert result.exit_code == 0, result.output
    assert seen == [False]


def test_positions_of_hidden_messages_are_not_shown(shipped_demo_and_board: Flask) -> None:
    client = shipped_demo_and_board.test_client()
    troy = get_json(client, f"/api/v1/positions?message_id={TROY}")["items"][0]
    before = get_json(client, f"/api/v1/threads/{troy['thread']}/positions")
    assert any(h["message_id"] == TROY for p in before["positions"] for h in p["history"])
    hide(shipped_demo_and_board, TROY)
    after = get_json(client, f"/api/v1/threads/{troy['thread']}/positions")
    assert not any(h["message_id"] == TROY for p in after["positions"] for h in p["history"])
    assert get_json(client, f"/api/v1/positions?message_id={TROY}")["items"] == []


def test_decisions_show_no_link_or_announcement_the_reader_may_not_see(
    shipped_demo_and_board: Flask,
) -> None:
    headers = bearer(token_for(shipped_demo_and_board, "editor"))
    client = shipped_demo_and_board.test_client()
    client.patch(
        f"/api/v1/decisions/{SLUG}",
        json={"announced_by": "private-1@example.org"},
        headers=headers,
    )
    assert get_json(client, f"/api/v1/decisions/{SLUG}", headers=headers)["announced_by"]
    decision = get_json(client, f"/api/v1/decisions/{SLUG}")
    assert decision["announced_by"] is None
    assert any(link["message_id"] == TROY for link in decision["links"])
    hide(shipped_demo_and_board, TROY)
    decision = get_json(client, f"/api/v1/decisions/{SLUG}")
    assert not any(link["message_id"] == TROY for link in decision["links"])
