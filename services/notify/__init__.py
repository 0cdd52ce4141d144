"""Notifications: the stored feed, preferences and mutes, mentions, moderation notices, mail
and digests.

May use: platform and below.
"""
