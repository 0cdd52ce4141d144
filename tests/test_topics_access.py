"""The topic access functions other areas build on: visibility, participation, bans with
expiry, moderation rights and the moderation log."""
from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from models.base import utcnow
from services.forum import topic_members, topic_moderation, topics_service
from services.platform import audit_service, topic_access, topic_activity
from tests.helpers import register, user_written
from utils import clock
from utils.errors import Forbidden, NotFound


@pytest.fixture
def people(app, client, db):
    found = {}
    for name in ("owner", "member", "outsider", "staff"):
        found[name] = db.users.find_one({"_id": ObjectId(register(client, name)["id"])})
    db.users.update_one({"_id": found["staff"]["_id"]}, {"$set": {"role": "moderator"}})
    user_written(app, found["staff"]["_id"])
    found["staff"]["role"] = "moderator"
    return found


def test_private_topic_is_invisible_to_non_members(app, people):
    with app.test_request_context():
        topic = topics_service.create_topic(people["owner"], "Secret club", visibility="private")
        readable = topic_access.get_readable_topic(people["owner"], str(topic["_id"]))
        assert readable["_id"] == topic["_id"]
        for viewer in (None, people["outsider"]):
            with pytest.raises(NotFound):
                topic_access.get_readable_topic(viewer, str(topic["_id"]))
        with pytest.raises(NotFound):
            topic_access.require_participant(people["outsider"], topic["_id"])
        admin = {**people["outsider"], "role": "admin"}
        assert topic_access.get_readable_topic(admin, topic["_id"])["title"] == "Secret club"


def test_participation_needs_membership_and_no_active_ban(app, people, monkeypatch):
    with app.test_request_context():
        topic = topics_service.create_topic(people["owner"], "Open talk")
        with pytest.raises(Forbidden):
            topic_access.require_participant(people["member"], topic["_id"])
        topic_members.join_topic(people["member"], topic["_id"])
        assert topic_access.member_role(topic["_id"], people["member"]["_id"]) == "member"
        participant = topic_access.require_participant(people["member"], topic["_id"])
        assert participant["_id"] == topic["_id"]

        expiry = utcnow() + timedelta(hours=1)
        topic_moderation.ban_user(people["owner"], topic["_id"], people["member"]["_id"], "spam",
                                  expiry)
        assert topic_access.is_banned(topic["_id"], people["member"]["_id"])
        assert topic_access.member_role(topic["_id"], people["member"]["_id"]) is None
        with pytest.raises(Forbidden):
            topic_members.join_topic(people["member"], topic["_id"])

        later = expiry + timedelta(seconds=1)
        monkeypatch.setattr(clock, "now", lambda: later)
        assert not topic_access.is_banned(topic["_id"], people["member"]["_id"])
        topic_members.join_topic(people["member"], topic["_id"])
        assert topic_access.require_participant(people["member"], topic["_id"])


def test_can_moderate_and_log(app, people, db):
    with app.test_request_context():
        topic = topics_service.create_topic(people["owner"], "Moderated")
        other = topics_service.create_topic(people["outsider"], "Elsewhere")
        topic_members.join_topic(people["member"], topic["_id"])
        topic_members.join_topic(people["member"], other["_id"])
        topic_members.add_moderator(people["outsider"], other["_id"], people["member"]["_id"])
        assert topic_access.can_moderate(people["owner"], topic)
        assert topic_access.can_moderate(people["staff"], topic)
        # A moderator of another topic has no say here.
        assert not topic_access.can_moderate(people["member"], topic)
        assert topic_access.can_moderate(people["member"], other)
        audit_service.record_moderation(people["owner"], "remove_post", topic["_id"], "post",
                                 ObjectId(), "off topic")
        entry = db.audit_log.find_one({"action": "topic.remove_post"})
        assert entry["actor_id"] == people["owner"]["_id"]
        assert entry["topic_id"] == topic["_id"] and entry["reason"] == "off topic"
        assert entry["at"] is not None


def test_touch_activity_never_moves_backwards(app, people, db):
    with app.test_request_context():
        topic = topics_service.create_topic(people["owner"], "Active one")
        later = utcnow() + timedelta(minutes=5)
        topic_activity.touch_activity(str(topic["_id"]), later)
        topic_activity.touch_activity(str(topic["_id"]), later - timedelta(minutes=10))
        assert db.topics.find_one({"_id": topic["_id"]})["last_activity_at"] == later
