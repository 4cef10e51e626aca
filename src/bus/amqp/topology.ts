import type { ConfirmChannel } from 'amqplib';

export interface Topology {
  readonly commands: string;
  readonly deadLetterExchange: string;
  readonly deadLetters: string;
  readonly events: string;
}

/** A broker's redelivery of a message that keeps killing its consumer stops here (DESIGN §5). */
const DELIVERY_LIMIT = 50;

export function topology(prefix: string): Topology {
  return {
    commands: `${prefix}.commands`,
    deadLetterExchange: `${prefix}.commands.dlx`,
    deadLetters: `${prefix}.commands.dead`,
    events: `${prefix}.events`,
  };
}

/**
 * Declared by publishers and consumers alike, in every channel setup: whoever connects first
 * creates it, and a command is never published to a queue that does not exist yet.
 * Single active consumer is a queue argument (not a policy) and needs a quorum queue to fail over safely.
 */
export async function declareCommands(channel: ConfirmChannel, t: Topology): Promise<void> {
  await channel.assertExchange(t.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(t.deadLetters, { durable: true });
  await channel.bindQueue(t.deadLetters, t.deadLetterExchange, '');
  await channel.assertQueue(t.commands, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-single-active-consumer': true,
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': t.deadLetterExchange,
    },
  });
}

export async function declareEvents(channel: ConfirmChannel, t: Topology): Promise<void> {
  await channel.assertExchange(t.events, 'fanout', { durable: true });
}
