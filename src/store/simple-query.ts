import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { ScramClient } from './scram.js';
import { FrameReader } from './wire-frames.js';

/**
 * A PostgreSQL connection for one job: connect, authenticate, run one simple query (several
 * statements), hand its DataRow and CopyData bodies over as byte ranges, close. It exists for the
 * snapshot, a million rows in one COPY: the pooled driver builds a Buffer or two and a stream
 * push per row, which made the process, not the server, the slow side of a cold start. Everything
 * else goes through the driver. No TLS: `targetOf` declines URLs that ask for it.
 */

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password?: string;
  readonly database: string;
}

export interface QueryHandler {
  dataRow(bytes: Buffer, start: number, end: number): void;
  copyData(bytes: Buffer, start: number, end: number): void;
}

/** A server error, with PostgreSQL's own SQLSTATE as `code`. */
export class ServerError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const CONNECT_TIMEOUT_MS = 10_000;
const PROTOCOL_3 = 196608;

/** The connection a postgres:// URL names, or undefined when it needs what only the driver does (TLS, several hosts, socket directories). */
export function targetOf(url: string): Target | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const sslmode = parsed.searchParams.get('sslmode') ?? parsed.searchParams.get('ssl');
  if (!['postgres:', 'postgresql:'].includes(parsed.protocol) || !parsed.hostname || parsed.hostname.includes(',')) return undefined;
  if (sslmode !== null && !['disable', 'false', 'prefer', 'allow'].includes(sslmode)) return undefined;
  if ([...parsed.searchParams.keys()].some((name) => name === 'host')) return undefined;
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username) || process.env.PGUSER || userInfo().username,
    password: parsed.password ? decodeURIComponent(parsed.password) : process.env.PGPASSWORD,
    database: decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username) || process.env.PGDATABASE || 'postgres',
  };
}

/** Runs `text` (one or more statements) once; resolves after the server's ReadyForQuery, rejects on its first error. */
export function simpleQuery(target: Target, text: string, handler: QueryHandler): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(target.port, target.host);
    socket.setNoDelay(true);
    let failure: Error | undefined;
    let queried = false;
    const fail = (error: Error) => {
      failure ??= error;
      socket.destroy();
    };
    const timer = setTimeout(() => fail(new Error(`no answer from ${target.host}:${target.port} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    const auth = authenticator(target, (message) => socket.write(message));
    const frames = new FrameReader((type, bytes, start, end) => {
      // An ErrorResponse is followed by ReadyForQuery, often in the same chunk: once failed, nothing more counts.
      if (failure) return;
      try {
        switch (type) {
          case 0x64: // CopyData
            handler.copyData(bytes, start, end);
            return;
          case 0x44: // DataRow
            handler.dataRow(bytes, start, end);
            return;
          case 0x52: // Authentication
            auth(bytes, start, end);
            return;
          case 0x45: // ErrorResponse
            fail(serverError(bytes, start, end));
            return;
          case 0x5a: // ReadyForQuery
            if (queried) {
              socket.end(frame(0x58, Buffer.alloc(0))); // Terminate
              clearTimeout(timer);
              resolve();
              return;
            }
            queried = true;
            clearTimeout(timer); // connected: the query itself may take as long as the table needs
            socket.write(frame(0x51, Buffer.from(`${text}\0`))); // Query
            return;
          default: // ParameterStatus, BackendKeyData, notices, descriptions, completions
            return;
        }
      } catch (error) {
        fail(error as Error);
      }
    });
    socket.on('connect', () => socket.write(startupMessage(target)));
    socket.on('data', (chunk: Buffer) => {
      try {
        frames.push(chunk);
      } catch (error) {
        fail(error as Error);
      }
    });
    socket.on('error', fail);
    socket.on('close', () => {
      clearTimeout(timer);
      reject(failure ?? new Error('the server closed the connection before the query ended'));
    });
  });
}

function startupMessage(target: Target): Buffer {
  const params = Buffer.from(`user\0${target.user}\0database\0${target.database}\0application_name\0driftkv snapshot\0\0`);
  const message = Buffer.alloc(8 + params.length);
  message.writeInt32BE(message.length, 0);
  message.writeInt32BE(PROTOCOL_3, 4);
  params.copy(message, 8);
  return message;
}

function frame(type: number, body: Buffer): Buffer {
  const message = Buffer.alloc(5 + body.length);
  message[0] = type;
  message.writeInt32BE(4 + body.length, 1);
  body.copy(message, 5);
  return message;
}

/** Answers the server's authentication requests: trust, password, md5 and SCRAM-SHA-256. */
function authenticator(target: Target, send: (message: Buffer) => void) {
  let scram: ScramClient | undefined;
  const password = () => {
    if (target.password === undefined) throw new ServerError('the server asks for a password and none was given', '28P01');
    return target.password;
  };
  return (bytes: Buffer, start: number, end: number): void => {
    const code = bytes.readInt32BE(start);
    const data = bytes.subarray(start + 4, end);
    switch (code) {
      case 0: // AuthenticationOk
        return;
      case 3: // cleartext
        send(frame(0x70, Buffer.from(`${password()}\0`)));
        return;
      case 5: {
        const inner = createHash('md5').update(password() + target.user).digest('hex');
        send(frame(0x70, Buffer.from(`md5${createHash('md5').update(inner).update(data.subarray(0, 4)).digest('hex')}\0`)));
        return;
      }
      case 10: {
        if (!data.toString('latin1').split('\0').includes('SCRAM-SHA-256')) throw new Error('the server offers no SASL mechanism this client knows');
        scram = new ScramClient(password());
        const first = Buffer.from(scram.first());
        const length = Buffer.alloc(4);
        length.writeInt32BE(first.length);
        send(frame(0x70, Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), length, first])));
        return;
      }
      case 11:
        send(frame(0x70, Buffer.from(scram!.final(data.toString('utf8')))));
        return;
      case 12:
        scram!.verify(data.toString('utf8'));
        return;
      default:
        throw new Error(`authentication method ${code} is not supported by the snapshot connection`);
    }
  };
}

function serverError(bytes: Buffer, start: number, end: number): ServerError {
  const fields = new Map<string, string>();
  for (let at = start; at < end && bytes[at] !== 0; ) {
    const stop = bytes.indexOf(0, at + 1);
    fields.set(String.fromCharCode(bytes[at]!), bytes.toString('utf8', at + 1, stop));
    at = stop + 1;
  }
  return new ServerError(fields.get('M') ?? 'server error', fields.get('C') ?? 'XX000');
}

