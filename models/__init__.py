"""Thin pymongo-backed model classes, one per collection.

Each model module is imported here so that `models.registry` knows every collection
(`flask init-db` creates all their indexes).
"""
from models import auth_token, block, friendship, message, room, room_member, user  # noqa: F401
