import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Http, ok, Realtime, RoundtableError, type Message } from "../src/index.js";
import { BASE_URL, PASSWORD, until, verifiedUser } from "./support.js";

// Alice: cookie session (the socket sends the session cookie); Bob: a bearer token.
let alice: { http: Http; id: string };
let bob: { http: Http; id: string };
let roomId: string;
const sockets: Realtime[] = [];

function realtime(http: Http): Realtime {
  // Websocket only: a packet written before a transport is closed reached the server.
  const rt = new Realtime(http, { ackTimeoutMs: 10_000, io: { transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 200 } });
  sockets.push(rt);
  return rt;
}

function collect(rt: Realtime, room: string): Message[] {
  const seen: Message[] = [];
  rt.onMessage((message) => { if (message.room_id === room) seen.push(message); });
  return seen;
}

async function history(http: Http, room: string): Promise<Message[]> {
  const page = await ok(http.api.GET("/api/messages/rooms/{room_id}/messages", {
    params: { path: { room_id: room }, query: { after_seq: 0, limit: 100 } },
  }));
  return page.items;
}

async function dropTransport(rt: Realtime): Promise<void> {
  // The connection dies (as when a network goes away) and stays down until `restore`.
  rt.socket.io.reconnection(false);
  const gone = new Promise((resolve) => rt.socket.once("disconnect", resolve));
  rt.socket.io.engine.close();
  await gone;
}

async function restore(rt: Realtime): Promise<void> {
  rt.socket.io.reconnection(true);
  const back = new Promise<void>((resolve) => rt.socket.once("connect", () => resolve()));
  rt.socket.connect();
  await back;
}

before(async () => {
  alice = await verifiedUser("alice");
  const bobSession = await verifiedUser("bob");
  const bobHttp = new Http({ baseUrl: BASE_URL });
  await bobHttp.createToken(bobSession.username, PASSWORD);
  bob = { http: bobHttp, id: bobSession.id };
  const room = await ok(alice.http.api.POST("/api/messages/direct", { body: { user_id: bob.id } }));
  roomId = room.id;
});

after(() => {
  for (const rt of sockets) rt.close();
});

test("a refused socket says why: connect_error {code, message} as RoundtableError", async () => {
  const rt = realtime(new Http({ baseUrl: BASE_URL }));
  await assert.rejects(rt.connect(), (error: unknown) =>
    error instanceof RoundtableError && error.code === "unauthorized" && error.message.length > 0);
});

test("a socket made before login uses the credentials its Http holds when it connects", async () => {
  const { username } = await verifiedUser("late");
  const cookie = new Http({ baseUrl: BASE_URL });
  const byCookie = realtime(cookie);
  await cookie.login(username, PASSWORD);
  await byCookie.connect();
  const bearer = new Http({ baseUrl: BASE_URL });
  const byToken = realtime(bearer);
  await bearer.createToken(username, PASSWORD);
  await byToken.connect();
  assert.ok(byCookie.socket.connected && byToken.socket.connected);
});

test("chat: join through an ack, send with a client_id, receive once", async () => {
  const a = realtime(alice.http);
  const b = realtime(bob.http);
  await Promise.all([a.connect(), b.connect()]);
  const seenByAlice = collect(a, roomId);
  const seenByBob = collect(b, roomId);
  await a.joinRoom(roomId);
  await b.joinRoom(roomId);

  const sent = await b.sendMessage(roomId, "hello from node");
  assert.equal(sent.body, "hello from node");
  assert.ok(sent.client_id);
  await until("alice receives bob's message", () => seenByAlice.some((m) => m.id === sent.id));
  // Acked and broadcast: delivered once to the sender's own listeners.
  assert.deepEqual(seenByBob.map((m) => m.id), [sent.id]);

  // An ack error is a RoundtableError too.
  await assert.rejects(a.call("join_room", { room_id: "0".repeat(24) }),
    (error: unknown) => error instanceof RoundtableError && error.code === "not_found");
  // An unknown event is answered, not left to time out.
  const unknown = await a.socket.timeout(5000).emitWithAck("no_such_event", {});
  assert.equal(unknown.error.code, "unknown_event");
});

test("reconnect: every joined room is joined again with after_seq and the missed messages arrive once, in order", async () => {
  const a = realtime(alice.http);
  await a.connect();
  const seen = collect(a, roomId);
  const before = await a.joinRoom(roomId);
  const startSeq = a.lastSeq(roomId);
  assert.equal(startSeq, before.at(-1)?.seq ?? 0);

  await dropTransport(a);
  const missed: Message[] = [];
  for (const body of ["while you were away 1", "while you were away 2", "while you were away 3"]) {
    // Without send_at a send answers the message (202, a scheduled item, only with it).
    missed.push(await ok(bob.http.api.POST("/api/messages/rooms/{room_id}/messages", {
      body: { body, client_id: crypto.randomUUID() }, params: { path: { room_id: roomId } },
    })) as Message);
  }
  await restore(a);
  await until("the missed messages are caught up", () => a.lastSeq(roomId) === missed.at(-1)?.seq);
  assert.deepEqual(seen.slice(before.length).map((m) => m.id), missed.map((m) => m.id));

  // The next live message follows, and nothing arrives twice.
  const live = await ok(bob.http.api.POST("/api/messages/rooms/{room_id}/messages", {
    body: { body: "live again", client_id: crypto.randomUUID() }, params: { path: { room_id: roomId } },
  })) as Message;
  await until("the live message arrives", () => seen.some((m) => m.id === live.id));
  const seqs = seen.map((m) => m.seq);
  assert.deepEqual(seqs, [...new Set(seqs)].sort((x, y) => x - y));
  assert.equal(seqs.at(-1), live.seq);

  // socket.io-client's own reconnection (no help from the test) catches up as well.
  a.socket.io.engine.close();
  const during = await ok(bob.http.api.POST("/api/messages/rooms/{room_id}/messages", {
    body: { body: "during the automatic reconnect", client_id: crypto.randomUUID() }, params: { path: { room_id: roomId } },
  }));
  await until("the message sent during the reconnect arrives", () => seen.some((m) => m.id === during.id));
  assert.equal(seen.filter((m) => m.id === during.id).length, 1);
});

/**
 * Lose the first ack `rt` receives: the server stored the send and answered, but the
 * connection died before the answer arrived. The count of lost acks (0 or 1).
 */
function loseFirstAck(rt: Realtime): () => number {
  const socket = rt.socket as unknown as { onpacket: (packet: { type: number }) => void };
  const original = socket.onpacket;
  let lostAcks = 0;
  socket.onpacket = function (this: unknown, packet: { type: number }) {
    if (packet.type === 3 && lostAcks === 0) {
      lostAcks += 1;
      rt.socket.io.reconnection(false);
      rt.socket.io.engine.close();
      return;
    }
    original.call(this, packet);
  };
  return () => lostAcks;
}

test("a send whose ack was lost is sent again after the reconnect with the same client_id: one message", async () => {
  const b = realtime(bob.http);
  const lostAcks = loseFirstAck(b);
  await b.connect();
  const clientId = crypto.randomUUID();
  const sending = b.sendMessage(roomId, "exactly once", { clientId });
  await until("the ack was lost", () => lostAcks() === 1 && !b.socket.connected);
  assert.deepEqual(b.unacknowledged(), [clientId]);
  const stored = (await history(alice.http, roomId)).filter((m) => m.client_id === clientId);
  assert.equal(stored.length, 1, "the server stored the first attempt");

  await restore(b);
  const message = await sending;
  assert.equal(message.client_id, clientId);
  assert.equal(message.id, stored[0]?.id);
  assert.deepEqual(b.unacknowledged(), []);
  const after = (await history(alice.http, roomId)).filter((m) => m.client_id === clientId);
  assert.deepEqual(after.map((m) => m.id), [message.id]);
});

test("sendMessage carries uploaded files and a GIF, and resends them like any send", async () => {
  const b = realtime(bob.http);
  const lostAcks = loseFirstAck(b);
  await b.connect();
  const file = await bob.http.upload(new Blob(["minutes of the meeting"], { type: "text/plain" }), "minutes.txt");
  const clientId = crypto.randomUUID();
  const sending = b.sendMessage(roomId, "", { clientId, attachments: [file.id] });
  await until("the ack was lost", () => lostAcks() === 1 && !b.socket.connected);
  await restore(b);
  const withFile = await sending;
  assert.deepEqual(withFile.attachments.map((a) => [a.type, a.id, a.name]), [["file", file.id, "minutes.txt"]]);
  const stored = (await history(alice.http, roomId)).filter((m) => m.client_id === clientId);
  assert.deepEqual(stored.map((m) => m.id), [withFile.id]);
  // The other member downloads it with their own credentials.
  assert.equal(await (await alice.http.download(file.id)).text(), "minutes of the meeting");

  const gif = { url: "https://media.giphy.com/media/abc123/giphy.gif", width: 480, height: 270 };
  const withGif = await b.sendMessage(roomId, "look", { gif });
  assert.deepEqual(withGif.attachments.map((a) => [a.type, a.url, a.width, a.height]),
    [["gif", gif.url, 480, 270]]);
  await assert.rejects(b.sendMessage(roomId, "", { gif: { url: "https://evil.example/x.gif" } }),
    (error: unknown) => error instanceof RoundtableError && error.code === "validation_error");
});
