/**
 * REST over fetch, typed by the OpenAPI document (openapi-fetch over the generated `paths`).
 *
 * Two ways to authenticate, as the API offers them:
 * - bearer token (`useToken`, or `createToken`): sent as `Authorization: Bearer`, no CSRF.
 *   With a refresh token (`createToken` keeps it), a 401 is answered by `refresh()` (one
 *   POST /api/auth/token/refresh, shared by every request waiting on it: a refresh token is
 *   single use, and presenting it twice ends the login) and one retry;
 * - cookie session (`login`): in a browser the cookie travels with `credentials: "include"`;
 *   outside a browser (Node) this client keeps the cookie itself. Every unsafe request then
 *   carries `X-CSRF-Token` (the token from login, or from GET /api/auth/csrf when a page was
 *   reloaded: a 403 csrf_failed is answered by fetching a fresh token and retrying once).
 * Every answer that is not 2xx is thrown as a RoundtableError {code, message, details}.
 */
import createClient, { type Client } from "openapi-fetch";
import { RoundtableError } from "./errors.js";
import type { components, paths } from "./generated/openapi.js";

export type Schemas = components["schemas"];
export type ApiClient = Client<paths, `${string}/${string}`>;

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const REFRESH_PATH = "/api/auth/token/refresh";

export interface HttpOptions {
  /** The API's origin, e.g. http://localhost:5000 */
  baseUrl: string;
  /** A bearer token from POST /api/auth/token (its `access_token`). */
  token?: string;
  /** The `refresh_token` of the same answer: 401s are then retried once after `refresh()`. */
  refreshToken?: string;
  /** Called with every new pair (createToken, refresh), e.g. to store the refresh token. */
  onTokens?: (tokens: Schemas["Token"]) => void;
  /**
   * "browser": the browser keeps the session cookie (credentials: "include").
   * "jar": this client keeps it (Node, tests, scripts). Default: "browser" when there is a
   * `document`, "jar" otherwise.
   */
  cookies?: "browser" | "jar";
  fetch?: typeof globalThis.fetch;
}

/** `const topic = await ok(rt.api.POST("/api/topics", {body}))`: the data, never undefined. */
export async function ok<D>(call: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<NonNullable<D>> {
  const { data } = await call;
  return data as NonNullable<D>;
}

export class Http {
  readonly baseUrl: string;
  readonly api: ApiClient;
  token: string | undefined;
  refreshToken: string | undefined;
  csrfToken: string | undefined;
  /** Who keeps the session cookie: the browser, or this client (Node). */
  readonly mode: "browser" | "jar";
  private readonly jar = new Map<string, string>();
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly onTokens: ((tokens: Schemas["Token"]) => void) | undefined;
  private refreshing: Promise<Schemas["Token"]> | undefined;

  constructor(options: HttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.refreshToken = options.refreshToken;
    this.onTokens = options.onTokens;
    this.mode = options.cookies ?? (typeof document === "undefined" ? "jar" : "browser");
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: (request) => this.send(request) });
  }

  /** The Cookie header this client would send (jar mode), e.g. for a socket in Node. */
  cookieHeader(): string | undefined {
    if (this.jar.size === 0) return undefined;
    return [...this.jar].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  private async send(request: Request, retried = false): Promise<Response> {
    const refreshing = new URL(request.url).pathname === REFRESH_PATH;
    const mayRefresh = !retried && !refreshing && this.refreshToken !== undefined;
    const spare = (UNSAFE.has(request.method) || mayRefresh) && !retried ? request.clone() : undefined;
    const headers = new Headers(request.headers);
    const token = this.token;
    if (token && !refreshing) {
      headers.set("Authorization", `Bearer ${token}`);
    } else if (UNSAFE.has(request.method) && this.csrfToken) {
      headers.set("X-CSRF-Token", this.csrfToken);
    }
    const cookie = this.mode === "jar" ? this.cookieHeader() : undefined;
    if (cookie) headers.set("Cookie", cookie);
    const response = await this.fetchImpl(new Request(request, {
      headers,
      ...(this.mode === "browser" ? { credentials: "include" as const } : {}),
    }));
    if (this.mode === "jar") this.keepCookies(response);
    if (response.ok) return response;
    const error = await RoundtableError.fromResponse(response);
    if (response.status === 401 && spare && mayRefresh && token) {
      // An expired access token: one refresh (unless another request already made one
      // while this one was under way), then this request once more.
      if (this.token === token) await this.refresh();
      return this.send(spare, true);
    }
    if (error.code === "csrf_failed" && spare && !this.token) {
      // A session without a known token (a reloaded page): ask for it once and retry.
      await this.refreshCsrf();
      return this.send(spare, true);
    }
    throw error;
  }

  private keepCookies(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const at = pair.indexOf("=");
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a)) ||
        attributes.some((a) => /^\s*expires\s*=/i.test(a) && Date.parse(a.split("=")[1] ?? "") < Date.now());
      if (expired || value === "") this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  /** GET /api/auth/csrf: the session's CSRF token, kept for later unsafe requests. */
  async refreshCsrf(): Promise<string> {
    const { csrf_token } = await ok(this.api.GET("/api/auth/csrf"));
    this.csrfToken = csrf_token;
    return csrf_token;
  }

  /** POST /api/auth/login: a cookie session; keeps its CSRF token. */
  async login(login: string, password: string, otp?: string): Promise<Schemas["LoginResult"]> {
    const result = await ok(this.api.POST("/api/auth/login", { body: { login, password, ...(otp ? { otp } : {}) } }));
    this.token = undefined;
    this.csrfToken = result.csrf_token;
    return result;
  }

  async logout(): Promise<void> {
    await this.api.POST("/api/auth/logout");
    this.csrfToken = undefined;
    this.jar.clear();
  }

  /** POST /api/auth/token, then use its access token for every later request (and
   * sockets) and its refresh token when the access token has expired. */
  async createToken(login: string, password: string, name?: string): Promise<Schemas["Token"]> {
    const issued = await ok(this.api.POST("/api/auth/token", { body: { login, password, ...(name ? { name } : {}) } }));
    this.keepTokens(issued);
    return issued;
  }

  /**
   * POST /api/auth/token/refresh: a new pair for the refresh token, which is retired. Calls
   * made while one is under way share it. A refused refresh (401: expired, revoked, or used
   * twice) forgets the tokens: log in again.
   */
  refresh(): Promise<Schemas["Token"]> {
    this.refreshing ??= this.rotate().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async rotate(): Promise<Schemas["Token"]> {
    const refresh_token = this.refreshToken;
    if (refresh_token === undefined) {
      throw new RoundtableError({ code: "unauthorized", message: "No refresh token: log in again." });
    }
    try {
      const issued = await ok(this.api.POST(REFRESH_PATH, { body: { refresh_token } }));
      this.keepTokens(issued);
      return issued;
    } catch (error) {
      if (error instanceof RoundtableError && error.status === 401) {
        this.token = this.refreshToken = undefined;
      }
      throw error;
    }
  }

  private keepTokens(issued: Schemas["Token"]): void {
    this.token = issued.access_token;
    this.refreshToken = issued.refresh_token;
    this.onTokens?.(issued);
  }

  /** Use this bearer token (and refresh token, if given) from now on. */
  useToken(token: string | undefined, refreshToken?: string): void {
    this.token = token;
    this.refreshToken = refreshToken;
  }

  /**
   * POST /api/uploads: upload a file (a Blob or File; `filename` defaults to the File's
   * name) as multipart `file`. The Attachment's `id` goes into a message's `attachments`
   * (Realtime.sendMessage, or the REST send) or a post's or comment's.
   */
  async upload(file: Blob, filename?: string): Promise<Schemas["Attachment"]> {
    const name = filename ?? (file instanceof File ? file.name : "file");
    return ok(this.api.POST("/api/uploads", {
      body: { file },
      // FormData: fetch writes the multipart boundary (no JSON Content-Type is set).
      bodySerializer: (body) => {
        const form = new FormData();
        form.append("file", body.file, name);
        return form;
      },
    }));
  }

  /**
   * GET /api/uploads/{id} (or its `/thumbnail`) with this client's credentials (the bearer
   * token, or the session cookie this client keeps in Node): the file's bytes. A storage
   * that answers with a redirect to a short-lived URL (S3) is followed; fetch drops the
   * Authorization and Cookie headers on that cross-origin hop. No access: a RoundtableError
   * 404, as for a missing file.
   */
  async download(uploadId: string, options: { thumbnail?: boolean } = {}): Promise<Blob> {
    const params = { path: { upload_id: uploadId } };
    return options.thumbnail
      ? ok(this.api.GET("/api/uploads/{upload_id}/thumbnail", { params, parseAs: "blob" }))
      : ok(this.api.GET("/api/uploads/{upload_id}", { params, parseAs: "blob" }));
  }
}
