import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawSocket {
  /** Text frames received so far. */
  readonly frames: number;
  readonly closed: boolean;
  close(): void;
}

/** The text of a frame between `marker` and the next `"` (a JSON string field's value, or what follows a prefix in it), or undefined. */
export function textAfter(frame: Buffer, marker: Buffer): string | undefined {
  const at = frame.indexOf(marker);
  return at < 0 ? undefined : frame.toString('latin1', at + marker.length, frame.indexOf(0x22, at + marker.length));
}

const OPCODE = { text: 0x1, close: 0x8, ping: 0x9, pong: 0xa } as const;

/**
 * A minimal websocket client (RFC 6455) for load: frames are parsed in place, and only those the
 * caller asks to see become strings, so a thousand sockets fit on one core with the generator.
 */
export function openSocket(port: number, path: string, onText?: (frame: Buffer) => void): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const state = { frames: 0, closed: false, upgraded: false };
    let buffered: Buffer = Buffer.alloc(0);
    const handle: RawSocket = {
      get frames() {
        return state.frames;
      },
      get closed() {
        return state.closed;
      },
      close: () => socket.destroy(),
    };
    socket.once('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('error', (error) => (state.upgraded ? (state.closed = true) : reject(error)));
    socket.on('close', () => (state.closed = true));
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!state.upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`websocket upgrade refused: ${head.split('\r\n')[0]}`));
          socket.destroy();
          return;
        }
        state.upgraded = true;
        buffered = buffered.subarray(end + 4);
        resolve(handle);
      }
      buffered = parseFrames(buffered, socket, state, onText);
    });
  });
}

/** Consumes every whole frame of `data`; returns what is left of an incomplete one. */
function parseFrames(data: Buffer, socket: Socket, state: { frames: number; closed: boolean }, onText?: (frame: Buffer) => void): Buffer {
  let offset = 0;
  while (data.length - offset >= 2) {
    const opcode = data[offset]! & 0x0f;
    let length = data[offset + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (data.length - offset < 4) break;
      length = data.readUInt16BE(offset + 2);
      header = 4;
    } else if (length === 127) {
      if (data.length - offset < 10) break;
      length = Number(data.readBigUInt64BE(offset + 2));
      header = 10;
    }
    if (data.length - offset < header + length) break;
    const payload = data.subarray(offset + header, offset + header + length);
    if (opcode === OPCODE.text) {
      state.frames++;
      onText?.(payload);
    } else if (opcode === OPCODE.ping) {
      socket.write(maskedFrame(OPCODE.pong, payload));
    } else if (opcode === OPCODE.close) {
      state.closed = true;
      socket.destroy();
    }
    offset += header + length;
  }
  return offset === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(offset));
}

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | payload.length;
  mask.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}
