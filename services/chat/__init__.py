"""Chat rooms of every kind (topic rooms, groups, direct messages): access, sending, history,
reads, invitations, moderation, pins, previews, personal controls, who may be in a room's
call, and chat notifications.

May use: accounts, notify, media, platform and below; never forum.
"""
