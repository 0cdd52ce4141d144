"""Thin pymongo-backed model classes, one per collection.

Each model module is imported here so that `models.registry` knows every collection
(`flask init-db` creates all their indexes).
"""
from models import (  # noqa: F401
    audit_log,
    auth_token,
    block,
    call,
    comment,
    data_export,
    friendship,
    login_session,
    message,
    notification,
    notification_mute,
    passkey,
    post,
    post_follow,
    room,
    room_invitation,
    room_member,
    setting,
    topic,
    topic_ban,
    topic_invitation,
    topic_member,
    upload,
    user,
    user_hide,
    vote,
)
