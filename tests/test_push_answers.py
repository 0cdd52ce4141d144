"""What one push request does (services/notify/push_send.py) with a payload over the size
limit and with the push service's rarer answers: a `Retry-After` given as an HTTP date or
as nothing a parser reads, an answer no rule names, no answer at all, and an endpoint whose
name resolves to a private address when the push is sent. Against the push service written
from the RFCs (tests/push_service.py), which decrypts what it is sent."""
from __future__ import annotations

import datetime
import email.utils
import json

import pytest
from bson import ObjectId

from services.notify import push_send
from services.notify.push_delivery import push_retry_sweep
from tests.chat_helpers import open_direct
from tests.helpers import Person, run_jobs
from tests.helpers import subscribe_push as subscribe
from utils import clock as app_clock
from utils.embedded_db import free_port


@pytest.fixture
def alice(client):
    return Person(client, "alice")


@pytest.fixture
def bob(client):
    return Person(client, "bob")


def message_bob(alice: Person, bob: Person, body: str = "are you there?") -> None:
    response = alice.send(open_direct(alice, bob), body, f"c-{body}")
    assert response.status_code == 201, response.get_json()


def stored(db, subscription: dict) -> dict | None:
    return db.push_subscriptions.find_one({"_id": ObjectId(subscription["id"])})


@pytest.mark.parametrize("body", [
    "caf\u00e9 \U0001F600 " * 1500,     # 10,500 characters, 16,500 bytes
    "\u5929\u6c14\u5f88\u597d" * 1000,  # Chinese: 4,000 characters, 12,000 bytes
    'say "\\"\n\x01' * 1000,          # escaped in JSON: 9 characters, 20 bytes there
    "a" * 3500], ids=["emoji", "chinese", "escapes", "ascii"])
def test_a_long_body_is_cut_to_the_payload_limit_and_still_decrypts(app, push_service, body):
    """The payload's `body` is cut by its bytes (with an ellipsis, never inside a
    character) until the JSON fits MAX_PAYLOAD_BYTES, keeping as much as fits, and the
    push service still decrypts and accepts it. Cut by characters, a body whose bytes
    over the limit outnumbered its characters came out empty."""
    payload = {"kind": "mention", "title": "Roundtable", "body": body, "url": "/x"}
    encoded = push_send.encode_payload(payload)
    assert len(encoded) <= push_send.MAX_PAYLOAD_BYTES
    cut = json.loads(encoded)
    assert cut["body"].endswith("\u2026") and body.startswith(cut["body"][:-1])
    assert len(encoded) > push_send.MAX_PAYLOAD_BYTES - 24  # not cut further than needed
    assert {k: v for k, v in cut.items() if k != "body"} == {
        k: v for k, v in payload.items() if k != "body"}
    with pytest.raises(ValueError):
        push_send.encode_payload({"title": "x" * push_send.MAX_PAYLOAD_BYTES})

    with app.app_context():
        subscription = push_service.subscribe()
        outcome = push_send.send(
            {"endpoint": subscription["endpoint"], **subscription["keys"]},
            push_send.Message(payload, ttl=60, urgency="normal", topic="t"))
    assert outcome == push_send.Outcome(push_send.DELIVERED, 201)
    (seen,) = push_service.received
    assert seen.status == 201, seen.refused
    assert seen.payload == cut


def test_retry_after_as_an_http_date_is_waited_for(app, alice, bob, push_service, db, clock):
    mine = subscribe(bob, push_service.subscribe())
    with app.app_context():
        then = app_clock.now() + datetime.timedelta(minutes=15)
    push_service.answer_next(429, **{"Retry-After": email.utils.format_datetime(
        then.astimezone(datetime.UTC), usegmt=True)})
    message_bob(alice, bob)
    run_jobs(app)
    with app.app_context():
        clock.advance(minutes=14)
        assert push_retry_sweep() == 0  # the date has not come: nothing sent
        clock.advance(minutes=2)
        assert push_retry_sweep() == 1
    assert [r.status for r in push_service.received] == [429, 201]
    assert stored(db, mine)["retry"] is None


def test_an_unreadable_retry_after_waits_for_the_backoff_alone(app, alice, bob, push_service,
                                                               clock):
    subscribe(bob, push_service.subscribe())
    push_service.answer_next(503, **{"Retry-After": "soon"})
    message_bob(alice, bob)
    run_jobs(app)
    with app.app_context():
        clock.advance(30)
        assert push_retry_sweep() == 0
        clock.advance(40)  # past the first backoff (60 s)
        assert push_retry_sweep() == 1
    assert [r.status for r in push_service.received] == [503, 201]


def test_an_answer_no_rule_names_drops_that_push_and_keeps_the_subscription(
        app, alice, bob, push_service, db, caplog):
    mine = subscribe(bob, push_service.subscribe())
    push_service.answer_next(413)
    message_bob(alice, bob, "first")
    run_jobs(app)
    row = stored(db, mine)
    assert row is not None and row["retry"] is None and row["failing_since"] is None
    assert any("answered 413" in record.getMessage() for record in caplog.records)
    message_bob(alice, bob, "second")
    run_jobs(app)
    assert [r.status for r in push_service.received] == [413, 201]


def test_a_push_service_that_does_not_answer_is_tried_again(app, alice, bob, push_service, db):
    keys = push_service.subscribe()["keys"]
    silent = subscribe(bob, {"endpoint": f"http://127.0.0.1:{free_port()}/push/x",
                             "keys": keys})  # nothing listens there
    message_bob(alice, bob)
    run_jobs(app)
    row = stored(db, silent)
    assert row is not None and row["failing_since"] is not None
    assert row["retry"]["attempts"] == 1 and row["retry"]["notification_id"] is not None


def test_an_endpoint_resolving_to_a_private_address_at_send_time_is_removed(
        app, alice, bob, push_service, db, monkeypatch, caplog):
    """A listed push host whose name resolves to a loopback or private address when the
    push is sent (DNS changed since it was subscribed) is never reached: the SSRF guard
    refuses it and the subscription is removed."""
    monkeypatch.setitem(app.config, "PUSH_ALLOW_LOOPBACK", False)
    monkeypatch.setitem(app.config, "PUSH_ENDPOINT_HOSTS", ["localhost"])
    keys = push_service.subscribe()["keys"]
    rebound = subscribe(bob, {"endpoint": f"https://localhost:{push_service.port}/push/x",
                              "keys": keys})
    message_bob(alice, bob)
    run_jobs(app)
    assert push_service.received == []
    assert stored(db, rebound) is None
    assert any("refused by the SSRF guard" in record.getMessage()
               for record in caplog.records)
