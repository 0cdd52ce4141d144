/**
 * Socket.IO event types, from the AsyncAPI document (src/generated/asyncapi.ts, written by
 * `npm run generate` from /api/asyncapi.json).
 */
import type { AckFailure, ClientAcks, ClientEvents as Payloads, Message, ServerEvents } from "./generated/asyncapi.js";

export type { Message, ServerEvents };

/** client event -> [payload, the ack's data] */
export type ClientEvents = { [E in keyof Payloads]: [Payloads[E], E extends keyof ClientAcks ? ClientAcks[E] : unknown] };

/** Every ack: `{ok: true, data}` or `{ok: false, error: {code, message, details?}}`. */
export type Ack<T> = { ok: true; data: T } | AckFailure;
