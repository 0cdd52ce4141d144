/** Every error the API answers, HTTP or socket ack, as one typed error. */
export interface ErrorBody {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export class RoundtableError extends Error implements ErrorBody {
  override readonly name = "RoundtableError";
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  /** HTTP status; undefined for socket acks and transport failures. */
  readonly status: number | undefined;
  /** The server's X-Request-ID, to quote in a bug report. */
  readonly requestId: string | undefined;
  /** Seconds, from Retry-After (429 and 503 only). */
  readonly retryAfter: number | undefined;

  constructor(error: ErrorBody, extra: { status?: number; requestId?: string | null; retryAfter?: number } = {}) {
    super(error.message);
    this.code = error.code;
    this.details = error.details;
    this.status = extra.status;
    this.requestId = extra.requestId ?? undefined;
    this.retryAfter = extra.retryAfter;
  }

  /** `{code, message, details?}`, the wire shape. */
  toJSON(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static async fromResponse(response: Response): Promise<RoundtableError> {
    const extra = {
      status: response.status,
      requestId: response.headers.get("X-Request-ID"),
      ...(response.headers.has("Retry-After") ? { retryAfter: Number(response.headers.get("Retry-After")) } : {}),
    };
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    const error = (body as { error?: Partial<ErrorBody> } | undefined)?.error;
    if (error && typeof error.code === "string" && typeof error.message === "string") {
      return new RoundtableError(error as ErrorBody, extra);
    }
    return new RoundtableError({ code: `http_${response.status}`, message: response.statusText || "HTTP error" }, extra);
  }
}
