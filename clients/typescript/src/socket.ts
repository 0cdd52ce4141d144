/**
 * Socket.IO over socket.io-client, with what every chat client needs and gets wrong alone:
 * - authenticates like the Http client it is given (bearer token in `auth`, or the session
 *   cookie: `withCredentials` in a browser, the Cookie header in Node);
 * - `call()` emits with an ack and a timeout; `{ok: false, error}` is thrown as RoundtableError;
 *   a refused connection (`connect_error` with data `{code, message}`) too;
 * - rooms are joined through acks; after every reconnect each joined room is joined again
 *   with `after_seq` = the last seq seen, and the missed messages are delivered (catch-up);
 * - `message` events are delivered once and in seq order per room: duplicates (a message
 *   both acked and broadcast, or both live and caught up) are dropped, a gap triggers a
 *   catch-up;
 * - `sendMessage()` is idempotent: it carries a `client_id`; a send that got no ack before a
 *   disconnect (or within the ack timeout) is sent again with the same `client_id`, and the
 *   server answers the one stored message.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { RoundtableError, type ErrorBody } from "./errors.js";
import type { Ack, ClientEvents, Message, ServerEvents } from "./events.js";
import type { Http } from "./http.js";

export interface RealtimeOptions {
  /** ms to wait for an ack before a call fails (sends are retried instead). Default 10000. */
  ackTimeoutMs?: number;
  /** How many times a send is tried before it fails. Default 5. */
  sendAttempts?: number;
  /** Passed to socket.io-client's `io()` (e.g. transports, reconnectionDelay). */
  io?: Partial<ManagerOptions & SocketOptions>;
}

interface RoomState {
  lastSeq: number;
  joined: boolean;
  /** A join (first or catch-up) in flight: live messages wait here. */
  catchingUp: Promise<void> | undefined;
  buffer: Message[];
}

interface PendingSend {
  payload: SendPayload;
  attempts: number;
  inFlight: boolean;
  resolve: (message: Message) => void;
  reject: (error: unknown) => void;
}

type Listener<T> = (payload: T) => void;

type SendPayload = ClientEvents["send_message"][0];

/** What a send may carry besides its body (the `send_message` event's own fields). */
export interface SendOptions {
  /** Makes the send idempotent; a new UUID unless given. */
  clientId?: string;
  /** The id of the message this one answers. */
  replyTo?: string;
  /** Upload ids from Http.upload (POST /api/uploads). */
  attachments?: NonNullable<SendPayload["attachments"]>;
  /** A GIF from GET /api/gifs/search: its `full` URL (and sizes, `preview` as thumbnail). */
  gif?: NonNullable<SendPayload["gif"]>;
}

function newClientId(): string {
  return globalThis.crypto.randomUUID();
}

export class Realtime {
  readonly socket: Socket;
  private readonly ackTimeoutMs: number;
  private readonly sendAttempts: number;
  private readonly rooms = new Map<string, RoomState>();
  private readonly topics = new Set<string>();
  private readonly posts = new Set<string>();
  private readonly pending = new Map<string, PendingSend>();
  private readonly messageListeners = new Set<Listener<Message>>();
  private connectedOnce = false;
  private beforeConnect: () => void = () => undefined;
  /** Resolves when the rooms of the latest (re)connect are joined again. */
  private rejoined: Promise<void> = Promise.resolve();

  constructor(http: Http, options: RealtimeOptions = {}) {
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.sendAttempts = options.sendAttempts ?? 5;
    this.socket = io(http.baseUrl, {
      autoConnect: false,
      // A browser sends the session cookie only with credentials; in Node the Cookie header
      // is ours (engine.io-client's own jar would add a second one).
      withCredentials: http.mode === "browser",
      // Read at every (re)connect: the Http's current token, if it has one.
      auth: (send) => send(http.token ? { token: http.token } : {}),
      ...options.io,
    });
    if (http.mode === "jar") {
      // Node: the session cookie the Http holds now, on every (re)connect.
      const withCookie = () => {
        const cookie = http.token ? undefined : http.cookieHeader();
        this.socket.io.opts.extraHeaders = cookie ? { Cookie: cookie } : {};
      };
      withCookie();
      this.socket.io.on("reconnect_attempt", withCookie);
      this.beforeConnect = withCookie;
    }
    this.socket.on("connect", () => this.onConnect());
    this.socket.on("message", (message: Message) => this.receive(message));
  }

  /** Connect; resolves once connected, rejects with the server's reason ({code, message}). */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.socket.off("connect", done);
        this.socket.off("connect_error", failed);
        resolve();
      };
      const failed = (error: Error & { data?: Partial<ErrorBody> }) => {
        this.socket.off("connect", done);
        this.socket.off("connect_error", failed);
        this.socket.disconnect();
        const data = error.data;
        reject(data && typeof data.code === "string"
          ? new RoundtableError({ code: data.code, message: data.message ?? error.message })
          : new RoundtableError({ code: "connect_failed", message: error.message }));
      };
      this.socket.on("connect", done);
      this.socket.on("connect_error", failed);
      this.beforeConnect();
      this.socket.connect();
    });
  }

  close(): void {
    this.socket.disconnect();
    for (const send of this.pending.values()) {
      send.reject(new RoundtableError({ code: "closed", message: "The socket was closed before the send was acknowledged." }));
    }
    this.pending.clear();
  }

  /** Emit `event` with an ack; the ack's data, or a RoundtableError. */
  async call<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E][0]): Promise<ClientEvents[E][1]> {
    let ack: Ack<ClientEvents[E][1]>;
    try {
      ack = await this.socket.timeout(this.ackTimeoutMs).emitWithAck(event, payload);
    } catch (error) {
      throw new RoundtableError({ code: "no_ack", message: `${event}: ${(error as Error).message}` });
    }
    if (!ack.ok) throw new RoundtableError(ack.error);
    return ack.data;
  }

  /** Server events other than `message` (use onMessage for those: deduped and ordered). */
  on<E extends keyof ServerEvents>(event: E, listener: Listener<ServerEvents[E]>): () => void {
    const handler = listener as (...args: unknown[]) => void;
    this.socket.on(event as string, handler);
    return () => this.socket.off(event as string, handler);
  }

  /** Every chat message once, in seq order per room (live, acked or caught up). */
  onMessage(listener: Listener<Message>): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** The highest seq delivered for a room (0: none). */
  lastSeq(roomId: string): number {
    return this.rooms.get(roomId)?.lastSeq ?? 0;
  }

  /**
   * Join a chat room. With `afterSeq` (default: the last seq seen, if any) the messages
   * after it are delivered to onMessage first. Resolves with them.
   */
  async joinRoom(roomId: string, afterSeq?: number): Promise<Message[]> {
    const room = this.room(roomId);
    if (afterSeq !== undefined) room.lastSeq = Math.max(room.lastSeq, afterSeq);
    room.joined = true;
    return this.catchUp(roomId);
  }

  async leaveRoom(roomId: string): Promise<void> {
    const room = this.rooms.get(roomId);
    if (room) room.joined = false;
    await this.call("leave_room", { room_id: roomId });
  }

  async joinTopic(topicId: string): Promise<void> {
    await this.call("join_topic", { topic_id: topicId });
    this.topics.add(topicId);
  }

  async leaveTopic(topicId: string): Promise<void> {
    this.topics.delete(topicId);
    await this.call("leave_topic", { topic_id: topicId });
  }

  async joinPost(postId: string): Promise<void> {
    await this.call("join_post", { post_id: postId });
    this.posts.add(postId);
  }

  async leavePost(postId: string): Promise<void> {
    this.posts.delete(postId);
    await this.call("leave_post", { post_id: postId });
  }

  /**
   * Send a chat message exactly once. `clientId` defaults to a new UUID; a send without an
   * ack is retried with the same one (after a reconnect, or after the ack timeout).
   * `attachments`: upload ids (Http.upload); `gif`: a GIF picked from GET /api/gifs/search.
   * With either, `body` may be "".
   */
  sendMessage(roomId: string, body: string, options: SendOptions = {}): Promise<Message> {
    const clientId = options.clientId ?? newClientId();
    const existing = this.pending.get(clientId);
    if (existing) {
      return new Promise((resolve, reject) => {
        const { resolve: first, reject: firstReject } = existing;
        existing.resolve = (m) => { first(m); resolve(m); };
        existing.reject = (e) => { firstReject(e); reject(e); };
      });
    }
    return new Promise((resolve, reject) => {
      this.pending.set(clientId, {
        payload: {
          room_id: roomId, body, client_id: clientId,
          ...(options.replyTo ? { reply_to: options.replyTo } : {}),
          ...(options.attachments?.length ? { attachments: options.attachments } : {}),
          ...(options.gif ? { gif: options.gif } : {}),
        },
        attempts: 0, inFlight: false, resolve, reject,
      });
      // After a reconnect, sends wait until the rooms are joined again.
      if (this.socket.connected) void this.rejoined.then(() => this.attempt(clientId));
    });
  }

  /** client_ids sent but not yet acknowledged. */
  unacknowledged(): string[] {
    return [...this.pending.keys()];
  }

  private attempt(clientId: string): void {
    const send = this.pending.get(clientId);
    if (!send || send.inFlight || !this.socket.connected) return;
    send.inFlight = true;
    send.attempts += 1;
    this.socket.timeout(this.ackTimeoutMs).emit("send_message", send.payload, (error: Error | null, ack: Ack<Message>) => {
      send.inFlight = false;
      if (this.pending.get(clientId) !== send) return;
      if (error) {
        // No ack: disconnected (resent on connect) or timed out (resent now, same client_id).
        if (send.attempts >= this.sendAttempts) {
          this.pending.delete(clientId);
          send.reject(new RoundtableError({ code: "no_ack", message: `send_message: ${error.message}` }));
        } else if (this.socket.connected) {
          this.attempt(clientId);
        }
        return;
      }
      this.pending.delete(clientId);
      if (!ack.ok) {
        send.reject(new RoundtableError(ack.error));
        return;
      }
      this.receive(ack.data);
      send.resolve(ack.data);
    });
  }

  private room(roomId: string): RoomState {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = { lastSeq: 0, joined: false, catchingUp: undefined, buffer: [] };
      this.rooms.set(roomId, room);
    }
    return room;
  }

  private onConnect(): void {
    const first = !this.connectedOnce;
    this.connectedOnce = true;
    const rejoin = async () => {
      if (!first) {
        await Promise.all([
          ...[...this.rooms].filter(([, room]) => room.joined).map(([id]) => this.catchUp(id)),
          ...[...this.topics].map((id) => this.call("join_topic", { topic_id: id })),
          ...[...this.posts].map((id) => this.call("join_post", { post_id: id })),
        ]);
      }
    };
    this.rejoined = rejoin().catch(() => undefined).then(() => {
      for (const clientId of this.pending.keys()) this.attempt(clientId);
    });
  }

  /** join_room with after_seq = last seen, until has_more is false; delivers in order. */
  private catchUp(roomId: string): Promise<Message[]> {
    const room = this.room(roomId);
    const delivered: Message[] = [];
    const run = async () => {
      try {
        for (;;) {
          const page = await this.call("join_room", { room_id: roomId, ...(room.lastSeq > 0 ? { after_seq: room.lastSeq } : {}) });
          for (const message of page.messages) {
            if (this.deliver(room, message)) delivered.push(message);
          }
          if (!page.has_more || page.messages.length === 0) break;
        }
      } finally {
        if (room.catchingUp === next) { // else a later catch-up flushes
          room.catchingUp = undefined;
          const waiting = room.buffer.sort((a, b) => a.seq - b.seq);
          room.buffer = [];
          for (const message of waiting) this.receive(message);
        }
      }
    };
    const previous = room.catchingUp ?? Promise.resolve();
    const next: Promise<void> = previous.catch(() => undefined).then(run);
    room.catchingUp = next;
    return next.then(() => delivered);
  }

  private receive(message: Message): void {
    const room = this.room(message.room_id);
    if (room.catchingUp) {
      room.buffer.push(message);
      return;
    }
    if (room.joined && room.lastSeq > 0 && message.seq > room.lastSeq + 1) {
      // A gap (a message missed while joined): fetch what is missing, then this one.
      room.buffer.push(message);
      void this.catchUp(message.room_id).catch(() => undefined);
      return;
    }
    this.deliver(room, message);
  }

  private deliver(room: RoomState, message: Message): boolean {
    if (message.seq <= room.lastSeq) return false;
    room.lastSeq = message.seq;
    for (const listener of this.messageListeners) listener(message);
    return true;
  }
}
