import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), PostgreSQL's default password method.
 * PostgreSQL takes the user from the startup message and ignores the one in the exchange, so
 * it is `*` unless a test vector names one. The password is used as given (no SASLprep), as
 * most PostgreSQL clients do for ASCII passwords.
 */
export class ScramClient {
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    private readonly password: string,
    private readonly nonce = randomBytes(18).toString('base64'),
    user = '*',
  ) {
    this.clientFirstBare = `n=${user},r=${nonce}`;
  }

  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  /** The client-final message for the server-first one; throws when the server's nonce is not ours extended. */
  final(serverFirst: string): string {
    const attributes = parseAttributes(serverFirst);
    const nonce = attributes.get('r') ?? '';
    const salt = attributes.get('s');
    const iterations = Number(attributes.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce === this.nonce || !salt || !Number.isInteger(iterations) || iterations < 1) {
      throw new Error('SCRAM: the server-first message is invalid');
    }
    const salted = pbkdf2Sync(this.password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(createHash('sha256').update(clientKey).digest(), authMessage);
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Checks that the server knew the password too (its signature over the same exchange). */
  verify(serverFinal: string): void {
    const given = Buffer.from(parseAttributes(serverFinal).get('v') ?? '', 'base64');
    if (!this.serverSignature || given.length !== this.serverSignature.length || !timingSafeEqual(given, this.serverSignature)) {
      throw new Error('SCRAM: the server signature does not match');
    }
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function parseAttributes(message: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of message.split(',')) {
    const at = part.indexOf('=');
    if (at > 0) attributes.set(part.slice(0, at), part.slice(at + 1));
  }
  return attributes;
}
