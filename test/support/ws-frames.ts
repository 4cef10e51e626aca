import { connect, type Socket } from 'node:net';
import type { Random } from './random.js';

/** Opens /events by hand, so that anything at all can follow the handshake. */
export function rawWebSocket(port: number, query = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /events${query} HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.once('data', (chunk) => (String(chunk).startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(String(chunk)))));
    socket.on('error', reject);
  });
}

/** A client frame (masked unless told otherwise); `declared` lies about the payload length. */
export function frame(opcode: number, payload: Buffer, options: { fin?: boolean; masked?: boolean; declared?: number; rsv?: number } = {}): Buffer {
  const { fin = true, masked = true, declared = payload.length, rsv = 0 } = options;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (declared < 126) head.push(maskBit | declared);
  else if (declared < 65536) head.push(maskBit | 126, declared >> 8, declared & 0xff);
  else {
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(declared));
    head.push(maskBit | 127, ...length);
  }
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = masked ? Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!)) : payload;
  return Buffer.concat([Buffer.from(head), masked ? mask : Buffer.alloc(0), body]);
}

/** Garbage of every kind a server must survive: bad opcodes, unmasked, oversized, lying lengths, bad UTF-8. */
export function garbageFrames(rng: Random): Buffer {
  switch (rng.int(0, 8)) {
    case 0:
      return rng.bytes(rng.int(1, 4096));
    case 1:
      return frame(rng.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), rng.bytes(rng.int(0, 100)));
    case 2:
      return frame(1, Buffer.from('{"type":"hello"}'), { masked: false });
    case 3:
      return frame(1, Buffer.alloc(rng.int(513, 70_000), 0x61));
    case 4:
      return frame(2, rng.bytes(16), { declared: rng.pick([2 ** 31, 2 ** 53 - 1, 70_000]) });
    case 5:
      return frame(1, Buffer.from([0xc3, 0x28, 0xff, 0xfe]));
    case 6:
      return Buffer.concat([frame(1, Buffer.from('part'), { fin: false }), frame(1, Buffer.from('again'), { fin: false }), frame(9, rng.bytes(200))]);
    case 7:
      return frame(8, Buffer.from([0x03, rng.int(0, 255), 0xff, 0xfe]));
    default:
      return frame(1, Buffer.from('x'), { rsv: rng.int(1, 7) });
  }
}
