import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from '../../logger.js';

export interface ManagedChannel {
  readonly wrapper: ChannelWrapper;
  /** True between a completed setup and the loss of that channel or of the connection. */
  readonly ready: boolean;
  close(): Promise<void>;
}

/**
 * A confirm channel whose setup re-runs on every reconnect. `ready` follows the real channel
 * (the wrapper itself only knows whether it has one), and its `error` has a listener: without one
 * a failed setup would crash the process.
 */
export function openChannel(
  connection: AmqpConnectionManager,
  name: string,
  log: Logger,
  setup: (channel: ConfirmChannel) => Promise<void>,
  publishTimeoutMs?: number,
): ManagedChannel {
  let current: ConfirmChannel | undefined;
  const wrapper = connection.createChannel({
    name,
    confirm: true,
    publishTimeout: publishTimeoutMs,
    setup: async (channel: ConfirmChannel) => {
      channel.once('close', () => {
        if (current === channel) current = undefined;
      });
      await setup(channel);
      current = channel;
    },
  });
  // A failed setup leaves the wrapper without a working channel until the next reconnect: force one.
  wrapper.on('error', (err: Error) => {
    log.error({ err, channel: name }, 'broker channel setup failed; reconnecting');
    setTimeout(() => {
      try {
        connection.reconnect();
      } catch {
        // closed meanwhile
      }
    }, 2000).unref();
  });
  connection.on('disconnect', () => (current = undefined));
  return {
    wrapper,
    get ready() {
      return current !== undefined && connection.isConnected();
    },
    close: () => wrapper.close(),
  };
}
