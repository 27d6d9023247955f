// A small gRPC client over node:http2 on a Unix socket: unary and server-streaming calls with
// raw protobuf bodies (see protobuf.ts). gRPC is HTTP/2 with length-prefixed frames and the
// status in trailers, which is all containerd needs; this saves two npm dependencies
// (@grpc/grpc-js, protobufjs) and a schema compiler. One HTTP/2 session carries every call
// concurrently and is re-opened when containerd restarts.
import { connect as connectHttp2, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { connect as connectSocket } from 'node:net';

/** gRPC status codes we act on (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
} as const;

export class GrpcError extends Error {
  constructor(
    readonly method: string,
    readonly code: number,
    readonly details: string,
  ) {
    super(details || `gRPC status ${code}`);
    this.name = 'GrpcError';
  }
}

export function isGrpcCode(error: unknown, code: number): boolean {
  return error instanceof GrpcError && error.code === code;
}

export type CallOptions = { timeoutMs?: number; metadata?: Record<string, string> };

export class GrpcUnixClient {
  private session: ClientHttp2Session | undefined;
  private active = 0;

  constructor(
    readonly socketPath: string,
    private readonly defaultMetadata: Record<string, string> = {},
    private readonly defaultTimeoutMs = 30_000,
  ) {}

  /** One request message, one response message. */
  async unary(method: string, request: Buffer, options: CallOptions = {}): Promise<Buffer> {
    const messages = await this.call(method, request, options);
    if (messages.length !== 1) throw new GrpcError(method, GrpcCode.UNKNOWN, `expected one response message, got ${messages.length}`);
    return messages[0]!;
  }

  /** One request message, any number of response messages, collected until the stream ends. */
  serverStream(method: string, request: Buffer, options: CallOptions = {}): Promise<Buffer[]> {
    return this.call(method, request, options);
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private call(method: string, request: Buffer, options: CallOptions): Promise<Buffer[]> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise<Buffer[]>((resolve, reject) => {
      let session: ClientHttp2Session;
      try {
        session = this.openSession();
      } catch (error) {
        reject(this.transportError(method, error));
        return;
      }
      this.active++;
      session.ref();
      const stream = session.request({
        ':method': 'POST',
        ':path': method,
        'content-type': 'application/grpc',
        te: 'trailers',
        // The server gives up too, so a timed-out call does not keep running in containerd.
        'grpc-timeout': `${timeoutMs}m`,
        ...this.defaultMetadata,
        ...options.metadata,
      });
      const chunks: Buffer[] = [];
      let status: IncomingHttpHeaders = {};
      let settled = false;
      const finish = (error: Error | undefined, messages?: Buffer[]) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (--this.active === 0) this.session?.unref(); // an idle client must not keep Node alive
        if (error) reject(error);
        else resolve(messages ?? []);
      };
      const timer = setTimeout(() => {
        stream.close(constants.NGHTTP2_CANCEL);
        finish(new GrpcError(method, GrpcCode.DEADLINE_EXCEEDED, `no answer from containerd within ${timeoutMs} ms`));
      }, timeoutMs + 1_000);
      stream.on('response', (headers) => (status = { ...headers }));
      stream.on('trailers', (trailers) => (status = { ...status, ...trailers }));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error) => finish(this.transportError(method, error)));
      stream.on('close', () => {
        const code = Number(status['grpc-status'] ?? GrpcCode.UNKNOWN);
        if (code !== GrpcCode.OK) {
          const message = status['grpc-message'] ? decodeGrpcMessage(String(status['grpc-message'])) : `HTTP ${status[':status'] ?? 'no response'}`;
          return finish(new GrpcError(method, code, message));
        }
        try {
          finish(undefined, splitFrames(Buffer.concat(chunks)));
        } catch (error) {
          finish(error instanceof Error ? error : new Error(String(error)));
        }
      });
      stream.end(frame(request));
    });
  }

  private openSession(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connectHttp2('http://containerd', { createConnection: () => connectSocket(this.socketPath) });
    const forget = () => {
      if (this.session === session) this.session = undefined;
    };
    // Errors surface on the streams; here we only make sure the next call reconnects.
    session.on('error', forget);
    session.on('close', forget);
    session.on('goaway', forget);
    session.unref();
    this.session = session;
    return session;
  }

  private transportError(method: string, error: unknown): GrpcError {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const code = (cause as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' || code === 'ECONNREFUSED'
        ? `containerd is not running (${String(code)} on ${this.socketPath})`
        : `containerd connection failed: ${cause instanceof Error ? cause.message : String(cause)}`;
    return new GrpcError(method, GrpcCode.UNAVAILABLE, reason);
  }
}

/** gRPC's length-prefixed message: a compression flag (0) and a 4-byte big-endian length. */
function frame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

function splitFrames(body: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    if (offset + 5 > body.length) throw new Error('truncated gRPC frame header');
    if (body[offset] !== 0) throw new Error('compressed gRPC frames are not supported');
    const length = body.readUInt32BE(offset + 1);
    if (offset + 5 + length > body.length) throw new Error('truncated gRPC frame');
    messages.push(body.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}

/** grpc-message is percent-encoded; a malformed escape is shown as sent rather than lost. */
function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
