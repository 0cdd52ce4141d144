/** What the tests share: the server pytest started (ROUNDTABLE_URL) and its log (ROUNDTABLE_LOG). */
import { readFile } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { Http, ok } from "../src/index.js";

export const BASE_URL = process.env.ROUNDTABLE_URL ?? "";
const LOG = process.env.ROUNDTABLE_LOG ?? "";
if (!BASE_URL || !LOG) {
  throw new Error("Run through pytest (tests/test_typescript_client.py): it starts the server and sets ROUNDTABLE_URL and ROUNDTABLE_LOG.");
}
export const PASSWORD = "correct horse battery staple";

let counter = 0;
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid % 10000}${counter}${Math.floor(Math.random() * 1000)}`;
}

/**
 * The verification token from the mail the development server logged (console mail
 * backend: the decoded link on one line). Polls the log: the mail is sent by a job.
 */
export async function verificationToken(email: string): Promise<string> {
  for (let tries = 0; tries < 600; tries += 1) {
    const log = await readFile(LOG, "utf8");
    const at = log.lastIndexOf(`To: ${email}`);
    if (at >= 0) {
      const match = /\/verify-email\?token=([A-Za-z0-9._\-]+)/.exec(log.slice(at));
      if (match?.[1]) return match[1];
    }
    await delay(50);
  }
  throw new Error(`no verification mail to ${email} in ${LOG}`);
}

/** Register, verify through the logged mail and log in with a cookie session. */
export async function verifiedUser(prefix: string): Promise<{ http: Http; id: string; username: string }> {
  const http = new Http({ baseUrl: BASE_URL });
  const username = uniqueName(prefix);
  const email = `${username}@example.com`;
  const { user } = await ok(http.api.POST("/api/auth/register", { body: { username, email, password: PASSWORD } }));
  await ok(http.api.POST("/api/auth/verify-email", { body: { token: await verificationToken(email) } }));
  await http.login(username, PASSWORD);
  return { http, id: user.id, username };
}

/** Wait until `check()` holds (events arrive on their own time), or fail naming `what`. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await delay(20);
  }
}
