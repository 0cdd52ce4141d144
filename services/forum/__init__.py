"""Topics, their members and moderation, posts, their lists and follows, comments, votes,
pseudonyms and their notifications.

May use: accounts, notify, media, platform and below; never chat (the layers contract keeps
chat and forum independent).
"""
