"""The bottom of the service layer: realtime emits and live-room registries, connections, per-
process copies behind version stamps, the content filter, the audit log, flood limits, and
the access rules every domain reads (topic access and activity, room roles, site bans and
mutes), tokens, passwords and mail delivery.

May use: models, utils, services.platform.shapes.
"""
