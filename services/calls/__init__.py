"""WebRTC calls: their records, signalling relays, ICE servers and lifecycle.

May use: live, chat and everything below.
"""
