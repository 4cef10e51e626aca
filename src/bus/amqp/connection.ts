import amqp, { type AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from '../../logger.js';
import { writeFramesTogether } from './frames-together.js';

/**
 * One broker connection per instance, shared by the command and event channels. Heartbeats of a
 * few seconds make a dead broker (or a silently dropped TCP connection) visible quickly; the
 * manager reconnects every second after that and re-runs every channel's setup.
 */
export function connectBroker(url: string, name: string, log: Logger): AmqpConnectionManager {
  // The name shows in `rabbitmqctl list_connections client_properties`: operators can find (and close) one instance's connection.
  const connection = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    // Without TCP_NODELAY, Nagle holding a small publish while the broker delays its ACK costs ~40 ms per round trip.
    connectionOptions: { noDelay: true, clientProperties: { connection_name: name } },
  });
  let wasDown = false;
  connection.on('connect', ({ connection: model }) => {
    if (!writeFramesTogether(model)) log.warn('this amqplib has no muxer to cork: every frame is its own socket write');
    log.info(wasDown ? 'broker connection restored' : 'broker connected');
    wasDown = false;
  });
  connection.on('disconnect', ({ err }) => {
    wasDown = true;
    log.warn({ err }, 'broker connection lost; reconnecting');
  });
  connection.on('connectFailed', ({ err }) => {
    if (!wasDown) log.warn({ err }, 'cannot reach the broker; retrying');
    wasDown = true;
  });
  connection.on('blocked', ({ reason }) => log.warn({ reason }, 'the broker blocked publishing (resource alarm)'));
  connection.on('unblocked', () => log.info('the broker unblocked publishing'));
  return connection;
}
