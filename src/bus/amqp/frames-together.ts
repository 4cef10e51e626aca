import type { Duplex } from 'node:stream';

/** The parts of amqplib's Connection (lib/connection.js, 0.10) this module touches. */
interface Muxed {
  connection?: {
    stream?: Duplex;
    muxer?: { _readIncoming?: () => void; together?: true };
  };
}

/**
 * amqplib queues each channel's frames (publishes, acks) and its muxer writes them out in one
 * pass per event-loop turn, but with one socket write per frame: one syscall each, and one TCP
 * segment each for the broker to read. Corking the socket around that pass sends the frames of
 * the pass in one writev. The order of the frames is unchanged, and so is when they leave (at the
 * end of the same pass). `model`: the connected amqplib ChannelModel; an amqplib without these
 * internals is left as it is (false).
 */
export function writeFramesTogether(model: unknown): boolean {
  const connection = (model as Muxed | undefined)?.connection;
  const stream = connection?.stream;
  const muxer = connection?.muxer;
  const pass = muxer?._readIncoming;
  if (!stream || !muxer || typeof pass !== 'function' || typeof stream.cork !== 'function') return false;
  if (muxer.together) return true;
  muxer.together = true;
  muxer._readIncoming = function readIncomingTogether(this: unknown) {
    stream.cork();
    try {
      pass.call(muxer);
    } finally {
      stream.uncork();
    }
  };
  return true;
}
