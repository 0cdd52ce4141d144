"""Socket.IO event handlers. They authenticate on connect and call the same services as
the REST routes; state about sockets lives in Redis or the database, never here."""
from __future__ import annotations
