// Where a write's time goes between the processes at 1,000 writes/s, read off the wire: no code of
// the service is changed or timed from inside.
//   npm run bench:wire-split [-- <git ref>] [--seconds=5] [--rate=1000]    (the working tree without a ref)
// Needs tcpdump and the right to capture on the loopback (root). The propagation scenario's round
// (writes through instance A, which runs the consumer; a websocket on B) runs while tcpdump records
// the broker's and PostgreSQL's ports; each write is then found by its key in the segments: the
// command A publishes and the broker delivers back to A, the batch statement A sends and its
// answer, the event A publishes and the broker delivers to B. The bench's own clock gives when the
// PUT was sent and when its client read the websocket frame; the instances' HTTP ports are recorded
// too, for when the PUT reached A and the frame left B. Printed: each step's p50, p90 and p99 over
// the writes, and the mean of each step over the slowest 1% of them.
import 'reflect-metadata';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AMQP_URL, DATABASE_URL, Deployment, waitReady } from './lib/driftkv.js';
import { readSegments, type Segment } from './lib/pcap.js';
import { LOAD_CPU } from './lib/process.js';
import { buildRef, numberOption, UsageError } from './lib/refs.js';
import { percentile, round, sleep } from './lib/stats.js';
import { openSocket, textAfter } from './lib/ws-client.js';
import { writeAtRate } from './lib/writer.js';
import { RATE, WARM_UP_SECONDS } from './scenarios/propagation.js';

const PREFIX = 'wire:';
/** A write's key in a segment, as JSON or SQL has it, or percent-encoded in the PUT's path. */
const KEY = /wire(?::|%3A)(\d+)/g;

/** The moments of one write, epoch ms; the wire's are the first segment that carried its key. */
interface Write {
  sent?: number;
  putIn?: number;
  commandOut?: number;
  commandIn?: number;
  statementOut?: number;
  statementIn?: number;
  eventOut?: number;
  eventIn?: number;
  frameOut?: number;
  received?: number;
}

const STEPS: readonly [string, keyof Write, keyof Write][] = [
  ["the bench's client: the PUT onto the wire", 'sent', 'putIn'],
  ['A: the PUT in, its command out', 'putIn', 'commandOut'],
  ['RabbitMQ: the quorum queue', 'commandOut', 'commandIn'],
  ['A: the delivery in, the batch decided and sent', 'commandIn', 'statementOut'],
  ['PostgreSQL: the batch statement and its commit', 'statementOut', 'statementIn'],
  ['A: the answer in, the event out', 'statementIn', 'eventOut'],
  ['RabbitMQ: the fanout to B', 'eventOut', 'eventIn'],
  ['B: the event in, its websocket frame out', 'eventIn', 'frameOut'],
  ["the bench's client: the frame read", 'frameOut', 'received'],
  ['end to end', 'sent', 'received'],
];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const refs = args.filter((a) => !a.startsWith('--'));
  if (refs.length > 1) throw new UsageError('usage: npm run bench:wire-split -- [<git ref>] [--seconds=5] [--rate=1000]');
  const seconds = numberOption(args, 'seconds', 5);
  // The propagation scenario's rate by default; higher shows where a write waits under load.
  const rate = numberOption(args, 'rate', RATE);
  const ports: Ports = { amqp: portOf(AMQP_URL, 5672), postgres: portOf(DATABASE_URL, 5432), a: 0, b: 0 };
  execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const dir = join(tmpdir(), `driftkv-wire-split-${process.pid}`);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  console.error(`building ${refs[0] ?? 'the working tree'}…`);
  const deployment = new Deployment(await buildRef(dir, refs[0]));
  const capture = join(dir, 'wire.pcap');
  const writes: Write[] = [];
  let tcpdump: ChildProcess | undefined;
  try {
    const a = await deployment.start({ INSTANCE_ID: 'driftkv-a' });
    const b = await deployment.start({ INSTANCE_ID: 'driftkv-b', CONSUMER: 'off' });
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    await writeAtRate(a.port, rate, WARM_UP_SECONDS, (n) => `warm:${n}`);
    ports.a = a.port;
    ports.b = b.port;
    const filter = [ports.amqp, ports.postgres, a.port, b.port].map((p) => `tcp port ${p}`).join(' or ');
    tcpdump = spawn('taskset', ['-c', LOAD_CPU, 'tcpdump', '-i', 'lo', '-s', '0', '-U', '-w', capture, filter], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await listening(tcpdump);
    const marker = Buffer.from(`"key":"${PREFIX}`);
    const socket = await openSocket(b.port, `/events?prefix=${PREFIX}`, (frame) => {
      const now = performance.timeOrigin + performance.now();
      const key = textAfter(frame, marker);
      if (key !== undefined) (writes[Number(key)] ??= {}).received ??= now;
    });
    const result = await writeAtRate(a.port, rate, seconds, (n) => `${PREFIX}${n}`, { onSent: (n, at) => ((writes[n] ??= {}).sent = performance.timeOrigin + at) });
    await sleep(1000);
    socket.close();
    await stopCapture(tcpdump);
    console.error(`${result.sent} writes sent, ${result.failed} failed; reading the capture…`);
  } finally {
    if (tcpdump && tcpdump.exitCode === null) await stopCapture(tcpdump);
    await deployment.destroy();
  }
  mark(writes, readSegments(capture), ports);
  report(writes, rate, seconds);
}

interface Ports {
  amqp: number;
  postgres: number;
  /** The instances' HTTP ports. */
  a: number;
  b: number;
}

function portOf(url: string, fallback: number): number {
  const port = new URL(url).port;
  return port ? Number(port) : fallback;
}

async function stopCapture(tcpdump: ChildProcess): Promise<void> {
  const exited = once(tcpdump, 'exit');
  tcpdump.kill('SIGINT');
  await exited;
}

function listening(tcpdump: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let said = '';
    tcpdump.stderr!.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('listening on')) resolve();
    });
    tcpdump.once('error', (error) => reject(new Error(`tcpdump could not start (${error.message}): apt-get install -y tcpdump, and run as root`)));
    tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited (${code}): ${said.trim()}`)));
  });
}

/**
 * Finds each write's key in the segments. A's broker connection is the one that publishes the
 * commands; an event segment to any other client is B's. A message longer than a segment goes on in
 * the next ones of its flow: a segment without a command's or an event's mark is taken as the same
 * kind as the last one of its flow. A statement's answer is the next segment PostgreSQL sends to
 * the connection that carried it.
 */
function mark(writes: Write[], segments: readonly Segment[], ports: Ports): void {
  const statementsWaiting = new Map<number, number[]>();
  const kindOfFlow = new Map<string, 'command' | 'event'>();
  let a: number | undefined;
  for (const s of segments) {
    const text = s.data.toString('latin1');
    const found = [...text.matchAll(KEY)];
    const keys = found.map((m) => Number(m[1]));
    if (s.to === ports.a) {
      for (const n of keys) if (writes[n]) writes[n]!.putIn ??= s.ms;
    } else if (s.from === ports.b) {
      for (const n of keys) if (writes[n]) writes[n]!.frameOut ??= s.ms;
    } else if (s.from === ports.a || s.to === ports.b) {
      continue;
    } else if (s.to === ports.postgres) {
      for (const n of keys) if (writes[n]) writes[n]!.statementOut ??= s.ms;
      if (keys.length > 0) statementsWaiting.set(s.from, [...(statementsWaiting.get(s.from) ?? []), ...keys]);
    } else if (s.from === ports.postgres) {
      for (const n of statementsWaiting.get(s.to) ?? []) if (writes[n]) writes[n]!.statementIn ??= s.ms;
      statementsWaiting.delete(s.to);
    } else {
      // A segment may hold several messages (a command and an event leave A in one write): each
      // key is of the kind of the last mark before it, or of the flow's last mark.
      const flow = `${s.from}>${s.to}`;
      let kind = kindOfFlow.get(flow);
      let from = 0;
      for (const m of found) {
        kind = lastMark(text.slice(from, m.index)) ?? kind;
        from = m.index;
        const w = writes[Number(m[1])];
        if (!w) continue;
        if (s.to === ports.amqp && kind === 'command') {
          a ??= s.from;
          w.commandOut ??= s.ms;
        } else if (s.to === ports.amqp && kind === 'event') w.eventOut ??= s.ms;
        else if (s.from === ports.amqp && kind === 'command') w.commandIn ??= s.ms;
        else if (s.from === ports.amqp && kind === 'event' && s.to !== a) w.eventIn ??= s.ms;
      }
      kind = lastMark(text.slice(from)) ?? kind;
      if (kind) kindOfFlow.set(flow, kind);
    }
  }
}

/** The kind of the last message that starts in `text`: a command message's or an event message's mark. */
function lastMark(text: string): 'command' | 'event' | undefined {
  const [command, event] = [text.lastIndexOf('"commands"'), text.lastIndexOf('"kind":"batch"')];
  if (command < 0 && event < 0) return undefined;
  return command > event ? 'command' : 'event';
}

function report(writes: readonly Write[], rate: number, seconds: number): void {
  const complete = writes.filter((w): w is Required<Write> => STEPS.every(([, from, to]) => w[from] !== undefined && w[to] !== undefined));
  const fields = [...new Set(STEPS.flatMap(([, from, to]) => [from, to]))];
  console.error(`seen: ${fields.map((f) => `${f} ${writes.filter((w) => w[f] !== undefined).length}`).join(', ')}`);
  if (complete.length === 0) throw new Error('no write was seen at every step: was the capture empty, or the service changed its wire formats?');
  console.log(`${rate} writes/s through A for ${seconds} s, a websocket on B: ${complete.length} of ${writes.length} writes seen at every step (ms)`);
  const slowest = complete
    .slice()
    .sort((x, y) => x.received - x.sent - (y.received - y.sent))
    .slice(-Math.max(1, Math.floor(complete.length / 100)));
  console.log('| step | p50 | p90 | p99 | mean of the slowest 1% |\n|---|---|---|---|---|');
  for (const [name, from, to] of STEPS) {
    const times = complete.map((w) => w[to] - w[from]).sort((x, y) => x - y);
    const tail = slowest.reduce((sum, w) => sum + w[to] - w[from], 0) / slowest.length;
    console.log(`| ${name} | ${round(percentile(times, 0.5))} | ${round(percentile(times, 0.9))} | ${round(percentile(times, 0.99))} | ${round(tail)} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(1);
});
