import { createServer, connect, type Server, type Socket } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** The page's only way to the instance, so the instance can be restarted (on another port) behind it. */
export class Forwarder {
  private readonly server: Server = createServer((client) => this.accept(client));
  private readonly open = new Set<Socket>();
  port = 0;
  constructor(public target: number) {}
  async listen(): Promise<void> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    this.port = (this.server.address() as { port: number }).port;
  }
  close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    return new Promise((done) => this.server.close(() => done()));
  }
  private accept(client: Socket): void {
    const upstream = connect(this.target, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.open.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        this.open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }
}

