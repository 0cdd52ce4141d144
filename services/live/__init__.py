"""Live rooms as sockets see them: entering a room (room_entry, the only code that joins one)
and presence.

May use: chat, forum and everything below them.
"""
