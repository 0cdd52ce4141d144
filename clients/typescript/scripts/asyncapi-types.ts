/**
 * TypeScript for the AsyncAPI 3 document (/api/asyncapi.json): every JSON Schema of
 * components.schemas as a type (json-schema-to-typescript), and three maps keyed by event
 * name on the wire:
 *   ClientEvents  client event -> its payload          (messages `<event>.request`)
 *   ClientAcks    client event -> its ack's `data`     (messages `<event>.reply`)
 *   ServerEvents  server event -> its payload          (the other messages)
 */
import { compile, type JSONSchema } from "json-schema-to-typescript";

type Json = Record<string, unknown>;

function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter(Boolean).map((part) => part[0]!.toUpperCase() + part.slice(1)).join("");
}

/** `#/components/schemas/X` -> `#/definitions/X`, everywhere in a value. */
function rewriteRefs<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/definitions/')) as T;
}

export async function renderAsyncApi(doc: Json): Promise<string> {
  const components = (doc.components ?? {}) as { schemas?: Record<string, Json>; messages?: Record<string, Json> };
  const schemas = components.schemas ?? {};
  const messages = components.messages ?? {};
  if (Object.keys(messages).length === 0) throw new Error("the AsyncAPI document has no components.messages");

  const definitions: Record<string, Json> = { ...schemas };
  // A schema of components.schemas is named by its key; an inline one gets `name`.
  const typeOf = (schema: Json, name: string): string => {
    const ref = typeof schema.$ref === "string" ? /^#\/components\/schemas\/([^/]+)$/.exec(schema.$ref) : null;
    if (ref?.[1]) return ref[1];
    definitions[name] = schema;
    return name;
  };
  const clientEvents: [string, string][] = [];
  const clientAcks: [string, string][] = [];
  const serverEvents: [string, string][] = [];
  for (const [key, message] of Object.entries(messages).sort(([a], [b]) => a.localeCompare(b))) {
    const event = String(message.name ?? key);
    const payload = (message.payload ?? {}) as Json;
    if (key.endsWith(".request")) {
      clientEvents.push([event, typeOf(payload, `${pascal(event)}Request`)]);
    } else if (key.endsWith(".reply")) {
      // {oneOf: [{ok: true, data: X}, AckFailure]}: the map holds X.
      const success = ((payload.oneOf ?? []) as Json[]).find((option) => (option.properties as Json | undefined)?.data);
      const data = ((success?.properties as Json | undefined)?.data ?? {}) as Json;
      clientAcks.push([event, typeOf(data, `${pascal(event)}AckData`)]);
    } else {
      const type = typeOf(payload, `${pascal(event)}Payload`);
      if (event !== "connect_error") serverEvents.push([event, type]);
    }
  }

  const root = rewriteRefs({
    title: "AsyncApiTypes",
    type: "object",
    additionalProperties: false,
    properties: {},
    definitions,
  }) as JSONSchema;
  const types = await compile(root, "AsyncApiTypes", {
    bannerComment: "",
    unreachableDefinitions: true,
    additionalProperties: false,
    strictIndexSignatures: true,
    // Arrays stay arrays (`string[]`, not a union of tuples up to `maxItems`): some bounds
    // are server settings (attachments: UPLOAD_MAX_ATTACHMENTS), so a type must not pin
    // one server's value; the bound stays in the doc comment.
    maxItems: -1,
    customName: (_schema, keyName) => keyName,
    format: true,
    style: { printWidth: 100 },
  });
  const map = (name: string, doc: string, entries: [string, string][]) =>
    `/** ${doc} */\nexport interface ${name} {\n${entries.map(([event, type]) => `  ${JSON.stringify(event)}: ${type};`).join("\n")}\n}\n`;
  return [
    types.replace(/^export interface AsyncApiTypes \{\}\n*/m, ""),
    map("ClientEvents", "Client to server: event name -> payload (emit it with an ack).", clientEvents),
    map("ClientAcks", "Client to server: event name -> the ack's `data` when `ok` is true.", clientAcks),
    map("ServerEvents", "Server to client: event name -> payload.", serverEvents),
  ].join("\n");
}
