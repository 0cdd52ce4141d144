import assert from "node:assert/strict";
import { test } from "node:test";
import { Http, ok, RoundtableError } from "../src/index.js";
import { BASE_URL, PASSWORD, uniqueName, verificationToken, verifiedUser } from "./support.js";

test("register, verify from the logged mail, log in: a cookie session", async () => {
  const http = new Http({ baseUrl: BASE_URL });
  const username = uniqueName("reg");
  const email = `${username}@example.com`;
  const { user } = await ok(http.api.POST("/api/auth/register", { body: { username, email, password: PASSWORD } }));
  assert.equal(user.username, username);

  // Not verified yet: a typed error with the API's code.
  await assert.rejects(http.login(username, PASSWORD), (error: unknown) => {
    assert.ok(error instanceof RoundtableError);
    assert.equal(error.status, 403);
    assert.equal(error.code, "email_not_verified");
    return true;
  });

  await ok(http.api.POST("/api/auth/verify-email", { body: { token: await verificationToken(email) } }));
  const login = await http.login(username, PASSWORD);
  assert.equal(login.user.email_verified, true);
  assert.match(http.cookieHeader() ?? "", /roundtable_session=/);
  const me = await ok(http.api.GET("/api/auth/me"));
  assert.equal(me.user.id, user.id);
});

test("unsafe cookie requests carry X-CSRF-Token; a lost token is fetched again", async () => {
  const { http } = await verifiedUser("csrf");
  const title = `CSRF topic ${uniqueName("t")}`;
  const topic = await ok(http.api.POST("/api/topics", { body: { title } }));
  assert.equal(topic.title, title);

  // Without the header the API refuses the cookie request...
  const refused = await fetch(`${BASE_URL}/api/topics`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: http.cookieHeader() ?? "" },
    body: JSON.stringify({ title: "no token" }),
  });
  assert.equal(refused.status, 403);
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "csrf_failed");

  // ...and a client that lost its token (a reloaded page) gets a fresh one and retries once.
  http.csrfToken = "stale-token";
  const again = await ok(http.api.POST("/api/topics", { body: { title: `${title} 2` } }));
  assert.equal(again.title, `${title} 2`);
  assert.notEqual(http.csrfToken, "stale-token");
  assert.equal(http.csrfToken, await http.refreshCsrf());
});

test("errors are thrown as RoundtableError {code, message, details}", async () => {
  const { http } = await verifiedUser("err");
  await assert.rejects(
    ok(http.api.POST("/api/topics", { body: { title: "x".repeat(500) } })),
    (error: unknown) => {
      assert.ok(error instanceof RoundtableError);
      assert.equal(error.status, 400);
      assert.equal(error.code, "validation_error");
      assert.ok(error.details && "title" in error.details, JSON.stringify(error.details));
      assert.ok(error.requestId, "X-Request-ID is readable");
      assert.deepEqual(Object.keys(error.toJSON()).sort(), ["code", "details", "message"]);
      return true;
    },
  );
  await assert.rejects(
    ok(http.api.GET("/api/topics/{topic_id}", { params: { path: { topic_id: "0".repeat(24) } } })),
    (error: unknown) => error instanceof RoundtableError && error.status === 404 && error.code === "not_found",
  );
  const anonymous = new Http({ baseUrl: BASE_URL });
  await assert.rejects(ok(anonymous.api.GET("/api/auth/me")),
    (error: unknown) => error instanceof RoundtableError && error.code === "unauthorized");
});

test("a bearer token needs no CSRF header and no cookie", async () => {
  const { username } = await verifiedUser("bearer");
  const http = new Http({ baseUrl: BASE_URL });
  const issued = await http.createToken(username, PASSWORD, "ts-client test");
  assert.match(issued.access_token, /^rta_/);
  assert.equal(issued.token, issued.access_token);  // the deprecated field, for older clients
  assert.equal(http.refreshToken, issued.refresh_token);
  const topic = await ok(http.api.POST("/api/topics", { body: { title: `Bearer ${uniqueName("t")}` } }));
  assert.ok(topic.id);
  assert.equal(http.cookieHeader(), undefined);
  assert.equal(http.csrfToken, undefined);
});

test("upload a file (typed: a Blob as `file`) and download it with the client's credentials", async () => {
  const { http: owner } = await verifiedUser("up");
  const text = `notes ${uniqueName("n")}\n`;
  const attachment = await owner.upload(new Blob([text], { type: "text/plain" }), "notes.txt");
  assert.equal(attachment.type, "file");
  assert.equal(attachment.name, "notes.txt");
  assert.equal(attachment.size, new TextEncoder().encode(text).length);
  assert.equal(attachment.url, `/api/uploads/${attachment.id}`);

  // Node: the session cookie (or the bearer token) goes with the download, no cookieHeader().
  assert.equal(await (await owner.download(attachment.id)).text(), text);
  const { username } = await verifiedUser("upb");
  const bearer = new Http({ baseUrl: BASE_URL });
  await bearer.createToken(username, PASSWORD);
  const mine = await bearer.upload(new Blob(["by token"]), "token.bin");
  assert.equal(await (await bearer.download(mine.id)).text(), "by token");

  // Someone who may not read it gets the API's 404, as a RoundtableError; so does a missing thumbnail.
  await assert.rejects(bearer.download(attachment.id),
    (error: unknown) => error instanceof RoundtableError && error.status === 404 && error.code === "not_found");
  await assert.rejects(owner.download(attachment.id, { thumbnail: true }),
    (error: unknown) => error instanceof RoundtableError && error.status === 404);
});

test("a 401 on an expired access token is retried once after one shared refresh", async () => {
  const { username } = await verifiedUser("refresh");
  const seen: string[] = [];
  const http = new Http({ baseUrl: BASE_URL, onTokens: (pair) => seen.push(pair.refresh_token) });
  const first = await http.createToken(username, PASSWORD, "ts-client refresh");
  // As after ACCESS_TOKEN_TTL_SECONDS: the server no longer knows this access token.
  http.token = "rta_expired";
  const [a, b] = await Promise.all([ok(http.api.GET("/api/auth/me")), ok(http.api.GET("/api/auth/me"))]);
  assert.equal(a.user.username, username);
  assert.equal(b.user.username, username);
  // Both requests waited on one refresh: a second would have reused the retired refresh
  // token and ended the login.
  assert.equal(seen.length, 2);
  assert.notEqual(http.token, "rta_expired");
  assert.notEqual(http.refreshToken, first.refresh_token);
  assert.ok((await ok(http.api.GET("/api/auth/me"))).user);

  // A retired refresh token presented again ends the whole login, the new pair included.
  const thief = new Http({ baseUrl: BASE_URL, token: "rta_expired", refreshToken: first.refresh_token });
  await assert.rejects(ok(thief.api.GET("/api/auth/me")),
    (error: unknown) => error instanceof RoundtableError && error.status === 401);
  assert.equal(thief.refreshToken, undefined);
  http.token = "rta_expired";
  await assert.rejects(ok(http.api.GET("/api/auth/me")),
    (error: unknown) => error instanceof RoundtableError && error.status === 401);
});
