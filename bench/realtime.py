"""Realtime measurements with a lean Socket.IO client: raw Engine.IO v4 / Socket.IO v5
text packets over aiohttp websockets, all receivers in this one asyncio process.

python-socketio's client costs several times the server's CPU per message, so at N=1000 it
would measure itself; this one does the minimum: answer pings, split `42[...]` events and
`43<id>[...]` acks, and note the arrival time. Its own CPU time is reported next to the
server's so a saturated client is visible.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

BODY = "The quick brown fox jumps over the lazy dog. " * 4  # ~180 bytes, a chat line


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Refused(Exception):
    pass


class LeanSocket:
    def __init__(self, session: aiohttp.ClientSession, base_url: str,
                 auth: dict | None, on_event: Callable[[LeanSocket, str, Any], None]) -> None:
        self.session, self.base_url, self.auth, self.on_event = session, base_url, auth, on_event
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.acks: dict[int, asyncio.Future] = {}
        self.next_ack = 0
        self.seen: set = set()  # message ids this socket received, for duplicates
        self.reader: asyncio.Task | None = None

    async def connect(self) -> LeanSocket:
        url = self.base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await self.session.ws_connect(url, autoping=False, max_msg_size=0)
        opening = await self.ws.receive(timeout=10)
        if not str(opening.data).startswith("0"):
            raise Refused(f"no Engine.IO open packet: {opening.data!r}")
        await self.ws.send_str("40" + (json.dumps(self.auth) if self.auth else ""))
        while True:
            answer = (await self.ws.receive(timeout=10)).data
            if answer == "2":
                await self.ws.send_str("3")
                continue
            if isinstance(answer, str) and answer.startswith("40"):
                break
            raise Refused(f"connect refused: {answer!r}")
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        ws = self.ws
        while True:
            message = await ws.receive()
            if message.type != aiohttp.WSMsgType.TEXT:
                return  # closed or errored: the run's loss count will show it
            data = message.data
            if data[:2] == "42":
                name, *args = json.loads(data[2:])
                self.on_event(self, name, args[0] if args else None)
            elif data[:2] == "43":
                cut = data.index("[")
                future = self.acks.pop(int(data[2:cut]), None)
                if future is not None and not future.done():
                    future.set_result(json.loads(data[cut:])[0])
            elif data == "2":
                await ws.send_str("3")

    async def emit(self, event: str, payload: Any) -> None:
        await self.ws.send_str("42" + json.dumps([event, payload]))

    async def call(self, event: str, payload: Any) -> asyncio.Future:
        """Send with an ack id; the returned future holds the acknowledgement."""
        self.next_ack += 1
        future = asyncio.get_running_loop().create_future()
        self.acks[self.next_ack] = future
        await self.ws.send_str(f"42{self.next_ack}" + json.dumps([event, payload]))
        return future

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()


class Tally:
    """Arrivals per message id: count, last arrival time, duplicates, strays."""

    def __init__(self, event: str = "message", key: str = "i") -> None:
        self.event, self.key = event, key
        self.count: dict[Any, int] = {}
        self.last: dict[Any, float] = {}
        self.first: dict[Any, float] = {}
        self.duplicates = 0
        self.waiters: dict[Any, tuple[int, asyncio.Future]] = {}

    def __call__(self, sock: LeanSocket, name: str, payload: Any) -> None:
        if name != self.event or not isinstance(payload, dict):
            return
        now = time.time()
        mid = payload.get(self.key)
        if mid is None:
            return  # the other kind of message (broadcast vs chat)
        if mid in sock.seen:
            self.duplicates += 1
            return
        sock.seen.add(mid)
        count = self.count[mid] = self.count.get(mid, 0) + 1
        self.last[mid] = now
        self.first.setdefault(mid, now)
        waiter = self.waiters.get(mid)
        if waiter and count >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)

    def expect(self, mid: Any, n: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiters[mid] = (n, future)
        return future


async def connect_many(session, base_url: str, auths: list[dict | None], on_event,
                       parallel: int = 50) -> list[LeanSocket]:
    gate = asyncio.Semaphore(parallel)

    async def one(auth):
        async with gate:
            return await LeanSocket(session, base_url, auth, on_event).connect()

    return list(await asyncio.gather(*(one(a) for a in auths)))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def broadcast_event(room: str) -> Callable[[str], tuple[str, dict]]:
    return lambda mid: ("bench_broadcast", {"room": room, "i": mid, "t": time.time(),
                                            "body": BODY})


async def fanout(emitter: LeanSocket, tally: Tally, event: Callable[[str], tuple[str, dict]],
                 n: int, messages: int, timeout: float = 3.0) -> dict[str, Any]:
    """Paced: one message at a time, the next only after all n receivers have it (or the
    timeout). Latency is from the emitter's send to the last receiver's arrival, so it
    includes the client reading all n frames: its CPU per delivery is reported to show
    how much of the latency is the client's own."""
    latencies, lost = [], 0
    ccpu0 = client_cpu()
    for _ in range(messages):
        mid = uuid.uuid4().hex
        done = tally.expect(mid, n)
        sent = time.time()
        await emitter.emit(*event(mid))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done, timeout)
        got = tally.count.get(mid, 0)
        lost += n - got
        if got == n:
            latencies.append((tally.last[mid] - sent) * 1000)
        await asyncio.sleep(0.005)
    client_us = (client_cpu() - ccpu0) / max(messages * n, 1) * 1e6
    return {"messages": messages, "p50_ms": percentile(latencies, 50),
            "client_cpu_us_per_delivery": client_us,
            "p99_ms": percentile(latencies, 99), "max_ms": max(latencies, default=None),
            "lost": lost}


async def burst(emitter: LeanSocket, tally: Tally, room: str, n: int, messages: int,
                cpu: Callable[[], float], timeout: float = 20.0) -> dict[str, Any]:
    """All messages back to back; deliveries per second from first send to last arrival."""
    ids = [uuid.uuid4().hex for _ in range(messages)]
    waits = [tally.expect(mid, n) for mid in ids]
    cpu0, ccpu0 = cpu(), client_cpu()
    started = time.time()
    for mid in ids:
        await emitter.emit("bench_broadcast", {"room": room, "i": mid, "t": time.time(),
                                               "body": BODY})
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*waits), timeout)
    cpu_used, client_used = cpu() - cpu0, client_cpu() - ccpu0
    delivered = sum(tally.count.get(mid, 0) for mid in ids)
    finished = max((tally.last[mid] for mid in ids if mid in tally.last), default=started)
    elapsed = max(finished - started, 1e-6)
    return {"messages": messages, "deliveries": delivered, "lost": messages * n - delivered,
            "deliveries_per_s": delivered / elapsed,
            "server_cpu_us_per_delivery": cpu_used / max(delivered, 1) * 1e6,
            "client_cpu_share": client_used / elapsed}


async def send_throughput(senders: list[LeanSocket], tally: Tally, receivers: int,
                          make_payload: Callable[[int], tuple[str, dict]], seconds: float,
                          window: int, cpus: dict[str, Callable[[], float]]) -> dict[str, Any]:
    """Each sender keeps `window` acknowledged events in flight for `seconds` (the store
    path may manage 10 or 1,000 a second, so the run is bounded by time, not count).
    Every receiver in the room must see every acknowledged message exactly once."""
    failures, ids, errors = 0, [], {}
    number = 0
    before = {name: read() for name, read in cpus.items()}
    started = time.time()
    deadline = started + seconds

    async def pump(sock: LeanSocket) -> None:
        nonlocal failures, number
        while time.time() < deadline:
            number += 1
            event, payload = make_payload(number)
            ack = await (await sock.call(event, payload))
            if isinstance(ack, dict) and ack.get("ok"):
                ids.append(payload["client_id"])
            else:
                failures += 1
                code = (ack or {}).get("error", {}).get("code") if isinstance(ack, dict) else ack
                errors[str(code)] = errors.get(str(code), 0) + 1

    await asyncio.wait_for(asyncio.gather(*(pump(s) for s in senders for _ in range(window))),
                           seconds + 30)
    elapsed = time.time() - started
    after = {name: read() for name, read in cpus.items()}
    await asyncio.sleep(0.5)  # let the last broadcasts land before counting losses
    handled = len(ids)
    delivered = sum(min(tally.count.get(mid, 0), receivers) for mid in ids)
    result = {"handled": handled, "failures": failures, "errors": errors,
              "per_s": handled / elapsed, "lost": handled * receivers - delivered}
    for name in cpus:
        result[f"{name}_cpu_ms_per_msg"] = (after[name] - before[name]) / max(handled, 1) * 1e3
    return result


async def memory_per_connection(session, base_url: str, auths: list, rss: Callable[[], int],
                                on_event) -> tuple[list[LeanSocket], dict[str, Any]]:
    """RSS of the worker before and after len(auths) idle connections."""
    await asyncio.sleep(0.5)
    before = rss()
    socks = await connect_many(session, base_url, auths, on_event)
    await asyncio.sleep(1.5)
    after = rss()
    return socks, {"connections": len(socks),
                   "kb_per_connection": (after - before) / len(socks) / 1024}


class Target:
    """One Socket.IO server under test and how to drive it.

    `join(sock, index)` puts the index-th receiver in its rooms: "r10" for the first ten
    (the bare server's send_message room), "r100" for the first hundred, "r1000" for all
    (bench_join), and on our server the real chat rooms too.
    `send(number, rooms)` builds one send_message spread over `rooms` rooms;
    `chat_fanout(mid)`, if set, is a real send_message into the room all receivers joined."""

    def __init__(self, name: str, base_url: str, auth: Callable[[int], dict | None],
                 cpus: dict[str, Callable[[], float]], rss: Callable[[], int],
                 send: Callable[[int, int], tuple[str, dict]] | None, send_label: str,
                 join: Callable | None = None,
                 chat_fanout: Callable[[str], tuple[str, dict]] | None = None) -> None:
        self.name, self.base_url, self.auth, self.cpus, self.rss = name, base_url, auth, cpus, rss
        self.send, self.send_label = send, send_label
        self.join = join or bench_join
        self.chat_fanout = chat_fanout
        self.worker_pid: Callable[[], int] | None = None


def rooms_for(index: int) -> list[str]:
    return (["r10"] if index < 10 else []) + (["r100"] if index < 100 else []) + ["r1000"]


async def bench_join(sock: LeanSocket, index: int) -> None:
    ack = await (await sock.call("bench_join", {"rooms": rooms_for(index)}))
    if not (ack is None or (isinstance(ack, dict) and ack.get("ok"))):
        raise RuntimeError(f"bench_join refused: {ack!r}")


SEND_RECEIVERS = 10  # the first receivers also listen to the send_message rooms


class Swarm:
    """The connected clients of one target, kept open across rounds so that each round
    measures, instead of reconnecting 1,000 sockets (slow on our server: token checks,
    presence, catch-up on join)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.tally, self.chat_tally = Tally(), Tally(key="client_id")
        self.socks: list[LeanSocket] = []
        self.session: aiohttp.ClientSession | None = None

    def on_event(self, sock: LeanSocket, name: str, payload: Any) -> None:
        self.tally(sock, name, payload)
        self.chat_tally(sock, name, payload)

    async def open(self, receivers: int) -> dict[str, Any]:
        """Connect and join; the worker's RSS before and after gives memory per idle
        connection (measured once, on a worker that has not seen this load before)."""
        target = self.target
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        auths = [target.auth(i) for i in range(receivers)]
        started = time.monotonic()
        self.socks, memory = await memory_per_connection(
            self.session, target.base_url, auths, target.rss, self.on_event)
        connected = time.monotonic()
        gate = asyncio.Semaphore(50)

        async def join(i, sock):
            async with gate:
                await target.join(sock, i)

        await asyncio.gather(*(join(i, s) for i, s in enumerate(self.socks)))
        self.emitter = await LeanSocket(self.session, target.base_url, target.auth(-1),
                                        self.on_event).connect()
        self.senders = [await LeanSocket(self.session, target.base_url, target.auth(-1),
                                         self.on_event).connect() for _ in range(10)]
        await fanout(self.emitter, self.tally, broadcast_event("r1000"), receivers, 5)  # warm-up
        if target.send:
            await send_throughput(self.senders, self.chat_tally, min(SEND_RECEIVERS, receivers),
                                  lambda n: target.send(n, 1), 0.5, 2, target.cpus)  # warm-up
        return {"memory": memory, "seconds": {"connect": round(connected - started, 1),
                                              "join": round(time.monotonic() - connected, 1)}}

    async def round(self, paced: int, burst_messages: int, send_seconds: float
                    ) -> dict[str, Any]:
        target, n = self.target, len(self.socks)
        result: dict[str, Any] = {}
        duplicates_before = self.tally.duplicates + self.chat_tally.duplicates
        started = time.monotonic()
        result["fanout_100"] = await fanout(self.emitter, self.tally, broadcast_event("r100"),
                                            min(100, n), paced)
        result["fanout_1000"] = await fanout(self.emitter, self.tally,
                                             broadcast_event("r1000"), n, paced)
        result["burst_1000"] = await burst(self.emitter, self.tally, "r1000", n,
                                           burst_messages, target.cpus["server"])
        if target.chat_fanout:
            result["chat_fanout_1000"] = await fanout(self.emitter, self.chat_tally,
                                                      target.chat_fanout, n, paced)
        if target.send and send_seconds:
            # One busy room (every send queues for the same per-room order), then the
            # same load spread over ten rooms, closer to a whole community's traffic.
            for label, rooms in (("send_message", 1), ("send_message_10_rooms", 10)):
                result[label] = await send_throughput(
                    self.senders, self.chat_tally, min(SEND_RECEIVERS, n),
                    lambda number, rooms=rooms: target.send(number, rooms), send_seconds, 2,
                    target.cpus)
                result[label]["what"] = target.send_label
        result["duplicates"] = (self.tally.duplicates + self.chat_tally.duplicates
                                - duplicates_before)
        result["seconds"] = round(time.monotonic() - started, 1)
        return result

    async def close(self) -> None:
        opened = [*self.socks, getattr(self, "emitter", None), *getattr(self, "senders", [])]
        await asyncio.gather(*(s.close() for s in opened if s is not None),
                             return_exceptions=True)
        await self.session.close()


def correctness_check(base_url: str, token: str, room_id: str | None = None
                      ) -> dict[str, Any]:
    """python-socketio, the reference client, on our server: connect with a token, join,
    broadcast, and see the event arrive exactly once with the acknowledgement shape; then,
    if `room_id` is given, the real chat path: join_room, two send_message, each delivered
    once, with consecutive seqs."""
    import socketio

    got: list = []
    receiver, emitter = socketio.Client(), socketio.Client()
    receiver.on("message", lambda data: got.append(data))
    checks: dict[str, Any] = {}

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 5
        while len(got) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a duplicate would arrive now

    try:
        receiver.connect(base_url, auth={"token": token}, transports=["websocket"])
        emitter.connect(base_url, auth={"token": token}, transports=["websocket"])
        ack = receiver.call("bench_join", {"rooms": ["check"]}, timeout=10)
        checks["ack_shape_ok"] = ack == {"ok": True, "data": None}
        emitter.emit("bench_broadcast", {"room": "check", "i": "check-1"})
        wait_for(1)
        checks["broadcast_received_once"] = [m.get("i") for m in got] == ["check-1"]
        if room_id:
            got.clear()
            joined = receiver.call("join_room", {"room_id": room_id}, timeout=10)
            acks = [emitter.call("send_message", {"room_id": room_id, "body": "check",
                                                  "client_id": f"check-{uuid.uuid4().hex}"},
                                 timeout=10) for _ in range(2)]
            wait_for(2)
            seqs = [a.get("data", {}).get("seq") for a in acks]
            checks["send_message_acked"] = bool(joined.get("ok")) and all(
                a.get("ok") for a in acks)
            checks["send_message_received_once_in_order"] = (
                [m.get("seq") for m in got] == seqs and seqs[1] == seqs[0] + 1)
        refused = socketio.Client()
        try:
            refused.connect(base_url, auth={"token": "rt_wrong"}, transports=["websocket"])
            checks["bad_token_refused"] = False
            refused.disconnect()
        except socketio.exceptions.ConnectionError:
            checks["bad_token_refused"] = True
        return checks
    finally:
        receiver.disconnect()
        emitter.disconnect()
