"""The one rule of who hears about a chat room (services/chat/audience.py): the sockets
in its live room always; for a group or a direct room also its members wherever they
are, but not those who left nor those banned while the ban is in force; a topic room
reaches nobody outside its live room."""
from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from services.chat.audience import audience, members_hearing
from utils import clock as app_clock

ANN, BEN, CAT, DAN = (ObjectId() for _ in range(4))


def room(kind: str, member_ids: list[ObjectId], **fields) -> dict:
    return {"_id": ObjectId(), "kind": kind, "member_ids": member_ids, **fields}


def ban(user_id: ObjectId, hours: float | None) -> dict:
    until = None if hours is None else app_clock.now() + timedelta(hours=hours)
    return {"user_id": user_id, "expires_at": until, "reason": None, "by": ANN,
            "at": app_clock.now()}


def test_a_topic_room_reaches_only_its_live_room():
    topic_room = room("topic", [], topic_id=ObjectId())
    assert audience(topic_room) == [f"chat_room_{topic_room['_id']}"]
    assert members_hearing(topic_room) == []
    # Even a stray member list (topic rooms keep none) reaches nobody outside.
    assert audience({**topic_room, "member_ids": [ANN]}) == [f"chat_room_{topic_room['_id']}"]


def test_a_direct_room_reaches_both_people_wherever_they_are():
    direct = room("direct", [ANN, BEN])
    assert audience(direct) == [f"chat_room_{direct['_id']}", f"user_{ANN}", f"user_{BEN}"]


def test_a_group_reaches_its_members_not_who_left_nor_the_banned(clock):
    # Cat left (no longer in member_ids); Dan is banned and not yet removed; Ben's
    # ban has run out.
    group = room("group", [ANN, BEN, DAN], bans=[ban(DAN, 1), ban(BEN, 1)])
    assert members_hearing(group) == [ANN]
    clock.advance(hours=2)
    assert members_hearing(group) == [ANN, BEN, DAN]
    forever = {**group, "bans": [ban(DAN, None)]}
    assert audience(forever) == [f"chat_room_{group['_id']}", f"user_{ANN}", f"user_{BEN}"]
    assert CAT not in members_hearing(forever)
