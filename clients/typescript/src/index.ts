export { RoundtableError, type ErrorBody } from "./errors.js";
export { Http, ok, type ApiClient, type HttpOptions, type Schemas } from "./http.js";
export { Realtime, type RealtimeOptions, type SendOptions } from "./socket.js";
export type { Ack, ClientEvents, Message, ServerEvents } from "./events.js";
export type { components, operations, paths } from "./generated/openapi.js";
/** Every JSON Schema of the AsyncAPI document as a type (Events.Message, Events.Room, ...). */
export type * as Events from "./generated/asyncapi.js";
