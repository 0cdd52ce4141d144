"""Polls in posts and chat messages (docs/POLLS.md): created with their item, results in
the item, one ballot per user, single and multiple choice, closing on time, anonymous
voters, the same 404 for outsiders, and `poll_updated` at most once a second per poll
without losing the last state."""
from __future__ import annotations

import threading
from datetime import timedelta

from models.base import isoformat
from tests.helpers import events, run_jobs
from tests.topic_helpers import Person, join, make_topic, socket_of
from utils import clock as app_clock
from utils import jobs

POLL = {"question": "Lunch?", "options": ["Pizza", "Soup", "Salad"]}


def group_with_poll(alice: Person, bob: Person, **poll) -> tuple[str, dict]:
    room = alice.post("/api/messages/groups", {"title": "Crew", "member_ids": [bob.id]}
                      ).get_json()["id"]
    sent = alice.post(f"/api/messages/rooms/{room}/messages",
                      {"body": "", "client_id": "p1", "poll": {**POLL, **poll}})
    assert sent.status_code == 201, sent.get_json()
    return room, sent.get_json()


def vote(person: Person, poll_id: str, *option_ids: str):
    return person.post(f"/api/polls/{poll_id}/vote", {"option_ids": list(option_ids)})


def test_message_poll_votes_results_and_my_vote(client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room, message = group_with_poll(alice, bob)
    poll = message["poll"]
    assert [(o["id"], o["text"], o["votes"]) for o in poll["options"]] == [
        ("1", "Pizza", 0), ("2", "Soup", 0), ("3", "Salad", 0)]
    assert (poll["multiple"], poll["anonymous"], poll["closed"], poll["my_vote"],
            poll["voters_count"]) == (False, False, False, None, 0)
    assert vote(bob, poll["id"], "2").get_json()["my_vote"] == ["2"]
    # Changing my mind replaces my ballot: still one voter.
    changed = vote(bob, poll["id"], "1").get_json()
    assert changed["voters_count"] == 1
    assert [o["votes"] for o in changed["options"]] == [1, 0, 0]
    vote(alice, poll["id"], "1")
    history = bob.get(f"/api/messages/rooms/{room}/messages").get_json()["items"]
    shown = history[-1]["poll"]
    assert shown["my_vote"] == ["1"] and shown["voters_count"] == 2
    assert shown["options"][0]["votes"] == 2
    # Single choice takes exactly one known option.
    assert vote(bob, poll["id"], "1", "2").status_code == 400
    assert vote(bob, poll["id"], "9").status_code == 400
    withdrawn = bob.delete(f"/api/polls/{poll['id']}/vote").get_json()
    assert (withdrawn["my_vote"], withdrawn["voters_count"]) == (None, 1)
    assert bob.get(f"/api/polls/{poll['id']}").get_json()["options"][0]["votes"] == 1


def test_bad_polls_are_refused_with_their_item(client, db):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/groups", {"title": "Crew", "member_ids": [bob.id]}
                      ).get_json()["id"]
    for poll in ({"question": "?", "options": ["only one"]},
                 {"question": "?", "options": [str(n) for n in range(11)]},
                 {"question": "?", "options": ["same", "Same"]},
                 {"question": "?", "options": ["a", "b"], "closes_at": "2000-01-01T00:00:00Z"},
                 {"question": "?", "options": ["a", "b"], "extra": 1}):
        answer = alice.post(f"/api/messages/rooms/{room}/messages",
                            {"body": "x", "client_id": "c", "poll": poll})
        assert answer.status_code == 400, poll
        assert answer.get_json()["error"]["code"] == "validation_error"
    assert db.messages.count_documents({}) == 0 and db.polls.count_documents({}) == 0


def test_multiple_choice_in_a_post_and_the_closing_time(client, clock):
    owner, member = Person(client, "tom"), Person(client, "mia")
    topic = make_topic(owner)
    join(member, topic["id"])
    closes = isoformat(app_clock.now() + timedelta(hours=1))
    created = owner.post("/api/posts/", {"topic_id": topic["id"], "title": "Which days?",
                                         "poll": {**POLL, "multiple": True,
                                                  "closes_at": closes}})
    assert created.status_code == 201, created.get_json()
    post = created.get_json()
    poll_id = post["poll"]["id"]
    voted = vote(member, poll_id, "1", "3").get_json()
    assert voted["my_vote"] == ["1", "3"]
    assert [o["votes"] for o in voted["options"]] == [1, 0, 1]
    listed = member.get(f"/api/posts?topic_id={topic['id']}").get_json()["items"][0]
    assert listed["poll"]["my_vote"] == ["1", "3"]
    assert member.get(f"/api/posts/{post['id']}").get_json()["poll"]["voters_count"] == 1
    clock.advance(hours=1)
    refused = vote(member, poll_id, "2")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "poll_closed"
    assert member.delete(f"/api/polls/{poll_id}/vote").status_code == 409
    after = member.get(f"/api/polls/{poll_id}").get_json()
    assert after["closed"] is True and after["my_vote"] == ["1", "3"]


def test_one_ballot_per_user_under_concurrent_votes(app, client, db):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    _room, message = group_with_poll(alice, bob)
    poll_id = message["poll"]["id"]
    answers: list[int] = []

    def cast(person: Person, option: str) -> None:
        with app.test_client() as own:
            answers.append(own.post(f"/api/polls/{poll_id}/vote",
                                    json={"option_ids": [option]},
                                    headers=person.headers).status_code)

    threads = [threading.Thread(target=cast, args=(person, option))
               for person in (alice, bob) for option in ("1", "2", "3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 6
    assert db.poll_ballots.count_documents({}) == 2
    results = alice.get(f"/api/polls/{poll_id}").get_json()
    assert results["voters_count"] == 2
    assert sum(o["votes"] for o in results["options"]) == 2


def test_anonymous_polls_hide_voters_and_outsiders_get_404(client):
    alice, bob, eve = Person(client, "alice"), Person(client, "bob"), Person(client, "eve")
    _room, open_message = group_with_poll(alice, bob)
    open_poll = open_message["poll"]["id"]
    vote(bob, open_poll, "3")
    listed = alice.get(f"/api/polls/{open_poll}/voters").get_json()
    assert [(v["user"]["id"], v["option_ids"]) for v in listed["items"]] == [(bob.id, ["3"])]
    room2 = alice.post("/api/messages/groups", {"title": "Quiet", "member_ids": [bob.id]}
                       ).get_json()["id"]
    secret = alice.post(f"/api/messages/rooms/{room2}/messages",
                        {"body": "vote", "client_id": "s", "poll": {**POLL, "anonymous": True}}
                        ).get_json()["poll"]["id"]
    vote(bob, secret, "1")
    assert alice.get(f"/api/polls/{secret}/voters").status_code == 403
    missing = alice.get("/api/polls/0123456789abcdef01234567").get_json()
    for path, method in ((f"/api/polls/{open_poll}", "GET"),
                         (f"/api/polls/{open_poll}/voters", "GET"),
                         (f"/api/polls/{secret}/voters", "GET"),
                         (f"/api/polls/{open_poll}/vote", "DELETE")):
        answer = eve.call(method, path)
        assert (answer.status_code, answer.get_json()) == (404, missing), path
    outsider_vote = vote(eve, open_poll, "1")
    assert (outsider_vote.status_code, outsider_vote.get_json()) == (404, missing)


def test_poll_updated_at_most_once_a_second_and_the_last_state_arrives(app, client, clock):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    _room, message = group_with_poll(alice, bob)
    poll_id = message["poll"]["id"]
    carol = Person(client, "carol")  # not in the room: hears nothing
    watcher, stranger = socket_of(app, alice), socket_of(app, carol)
    run_jobs(app)  # the sign-up mails, out of the way
    vote(bob, poll_id, "1")
    vote(alice, poll_id, "2")
    vote(bob, poll_id, "3")
    heard = events(watcher, "poll_updated")
    # The first change goes out at once; the others wait for the end of the second.
    assert len(heard) == 1
    assert heard[0]["item_type"] == "message" and heard[0]["item_id"] == message["id"]
    assert [o["votes"] for o in heard[0]["poll"]["options"]] == [1, 0, 0]
    assert heard[0]["poll"]["my_vote"] is None
    clock.advance(0.5)
    with app.app_context():
        assert sum(jobs.queue_depth(app).values()) == 1  # the announcement, not yet due
    assert events(watcher, "poll_updated") == []
    clock.advance(0.5)  # due now by the app's clock: nothing sleeps
    run_jobs(app)
    later = events(watcher, "poll_updated")
    assert len(later) == 1
    assert [o["votes"] for o in later[0]["poll"]["options"]] == [0, 1, 1]
    # Quiet for a second: the next change goes out at once again.
    clock.advance(1)
    bob.delete(f"/api/polls/{poll_id}/vote")
    assert [o["votes"] for o in events(watcher, "poll_updated")[0]["poll"]["options"]] == [
        0, 1, 0]
    assert events(stranger, "poll_updated") == []
    watcher.disconnect()
    stranger.disconnect()


def test_an_owed_announcement_waits_again_when_one_went_out_before_it(app, client, clock):
    """A change at the end of the interval is announced at once, before the job owed by
    an earlier change runs: that job finds the announcement taken and waits for the end
    of the next interval, so no two go out within a second."""
    alice, bob = Person(client, "alice"), Person(client, "bob")
    _room, message = group_with_poll(alice, bob)
    poll_id = message["poll"]["id"]
    watcher = socket_of(app, alice)
    run_jobs(app)  # the sign-up mails, out of the way
    vote(bob, poll_id, "1")
    assert len(events(watcher, "poll_updated")) == 1
    clock.advance(0.5)
    vote(alice, poll_id, "2")  # owes an announcement at the end of the second
    clock.advance(0.5)
    vote(bob, poll_id, "3")  # the second is over: announced at once
    assert [[o["votes"] for o in e["poll"]["options"]]
            for e in events(watcher, "poll_updated")] == [[0, 1, 1]]
    started = app_clock.now()
    # The owed job finds the announcement just taken and runs again at the end of the
    # next second (run_jobs waits for it): one more event, with the last state.
    run_jobs(app)
    assert (app_clock.now() - started).total_seconds() >= 0.99
    assert [[o["votes"] for o in e["poll"]["options"]]
            for e in events(watcher, "poll_updated")] == [[0, 1, 1]]
    watcher.disconnect()


def test_an_announcement_owed_by_a_deleted_poll_sends_nothing(app, client, clock):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    _room, message = group_with_poll(alice, bob)
    watcher = socket_of(app, alice)
    run_jobs(app)
    vote(bob, message["poll"]["id"], "1")
    vote(alice, message["poll"]["id"], "2")  # owes an announcement
    events(watcher, "poll_updated")
    assert alice.delete(f"/api/messages/{message['id']}").status_code == 200
    clock.advance(1)
    run_jobs(app)
    assert events(watcher, "poll_updated") == []
    with app.app_context():
        assert sum(jobs.queue_depth(app).values()) == 0  # nor waits for another turn
    watcher.disconnect()


def test_a_poll_sent_over_the_socket(app, client):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    room = alice.post("/api/messages/groups", {"title": "Crew", "member_ids": [bob.id]}
                      ).get_json()["id"]
    sc = socket_of(app, alice)
    ack = sc.emit("send_message", {"room_id": room, "body": "Pick one", "client_id": "s1",
                                   "poll": POLL}, callback=True)
    assert ack["ok"], ack
    assert ack["data"]["poll"]["question"] == "Lunch?"
    # A resend with the same client_id gets the same message and poll, and stores no other.
    again = sc.emit("send_message", {"room_id": room, "body": "Pick one", "client_id": "s1",
                                     "poll": POLL}, callback=True)
    assert again["data"]["poll"]["id"] == ack["data"]["poll"]["id"]
    sc.disconnect()


def test_deleting_the_item_removes_its_poll_and_ballots(client, db):
    alice, bob = Person(client, "alice"), Person(client, "bob")
    _room, message = group_with_poll(alice, bob)
    topic = make_topic(alice)
    join(bob, topic["id"])
    post = alice.post("/api/posts/", {"topic_id": topic["id"], "title": "Which?",
                                      "poll": POLL}).get_json()
    for item in (message, post):
        vote(bob, item["poll"]["id"], "1")
    assert db.poll_ballots.count_documents({}) == 2
    assert alice.delete(f"/api/messages/{message['id']}").status_code == 200
    assert alice.delete(f"/api/posts/{post['id']}").status_code in (200, 204)
    assert db.polls.count_documents({}) == db.poll_ballots.count_documents({}) == 0
    for item in (message, post):
        assert bob.get(f"/api/polls/{item['poll']['id']}").status_code == 404
        assert vote(bob, item["poll"]["id"], "2").status_code == 404
