import { readFileSync } from 'node:fs';

/** One TCP segment with data, as tcpdump saw it: when (epoch ms), between which ports, and its bytes. */
export interface Segment {
  readonly ms: number;
  readonly from: number;
  readonly to: number;
  readonly data: Buffer;
}

/** Bytes before the IP header, per link type (Ethernet, Linux cooked v1 and v2, BSD loopback, raw IP). */
const LINK_HEADER: Record<number, number> = { 1: 14, 113: 16, 276: 20, 0: 4, 12: 0, 101: 0 };

/**
 * The TCP segments with data of a classic pcap file (`tcpdump -w`), IPv4 only, in capture order.
 * Segments without data (bare ACKs) are left out.
 */
export function readSegments(file: string): Segment[] {
  const bytes = readFileSync(file);
  const magic = bytes.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file} is not a little-endian pcap file`);
  const fraction = magic === 0xa1b23c4d ? 1e6 : 1e3; // nanoseconds or microseconds per millisecond
  const link = LINK_HEADER[bytes.readUInt32LE(20)];
  if (link === undefined) throw new Error(`${file}: link type ${bytes.readUInt32LE(20)} is not supported`);
  const segments: Segment[] = [];
  for (let at = 24; at + 16 <= bytes.length; ) {
    const ms = bytes.readUInt32LE(at) * 1000 + bytes.readUInt32LE(at + 4) / fraction;
    const length = bytes.readUInt32LE(at + 8);
    const packet = bytes.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    const ip = packet.subarray(link);
    if (ip.length < 20 || ip[0]! >> 4 !== 4 || ip[9] !== 6) continue;
    const tcp = ip.subarray((ip[0]! & 0x0f) * 4, ip.readUInt16BE(2));
    if (tcp.length < 20) continue;
    const data = tcp.subarray((tcp[12]! >> 4) * 4);
    if (data.length > 0) segments.push({ ms, from: tcp.readUInt16BE(0), to: tcp.readUInt16BE(2), data });
  }
  return segments;
}
