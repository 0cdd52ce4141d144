"""Blueprints, one module per area, registered under /api by `register`."""
from __future__ import annotations

from flask import Flask

from utils.api import Api


def register(app: Flask, api: Api) -> None:
    from routes import (
        admin,
        auth,
        auth_sessions,
        calls,
        docs,
        files,
        gifs,
        health,
        messages,
        notifications,
        passkeys,
        polls,
        posts,
        push,
        reports,
        saved,
        search,
        topics,
        uploads,
        users,
    )

    api.register_blueprint(health.blp)
    api.register_blueprint(auth.blp, url_prefix="/api/auth")
    api.register_blueprint(auth_sessions.blp, url_prefix="/api/auth")
    api.register_blueprint(passkeys.blp, url_prefix="/api/auth/passkeys")
    api.register_blueprint(users.blp, url_prefix="/api/users")
    api.register_blueprint(files.blp, url_prefix="/api/files")
    api.register_blueprint(uploads.blp, url_prefix="/api/uploads")
    api.register_blueprint(topics.blp, url_prefix="/api/topics")
    api.register_blueprint(posts.blp, url_prefix="/api/posts")
    api.register_blueprint(posts.comments_blp, url_prefix="/api/comments")
    api.register_blueprint(search.blp, url_prefix="/api/search")
    api.register_blueprint(messages.blp, url_prefix="/api/messages")
    api.register_blueprint(messages.topic_rooms_blp, url_prefix="/api/topics")
    api.register_blueprint(reports.blp, url_prefix="/api/reports")
    api.register_blueprint(reports.topic_reports_blp, url_prefix="/api/topics")
    api.register_blueprint(admin.blp, url_prefix="/api/admin")
    api.register_blueprint(notifications.blp, url_prefix="/api/notifications")
    api.register_blueprint(push.blp, url_prefix="/api/push")
    api.register_blueprint(calls.blp, url_prefix="/api/calls")
    api.register_blueprint(gifs.blp, url_prefix="/api/gifs")
    api.register_blueprint(saved.blp, url_prefix="/api/saved")
    api.register_blueprint(polls.blp, url_prefix="/api/polls")
    app.register_blueprint(docs.bp)
