import { call, type Answer } from '../support/http.js';

export interface Write {
  readonly key: string;
  readonly value: string;
  readonly url: string;
}

export interface Written extends Write {
  readonly status: number;
  readonly revision?: number;
  readonly error?: string;
}

/** Sends the writes with `concurrency` requests in flight; a failed request is recorded, never thrown. */
export async function putAll(writes: Write[], concurrency: number, onWritten: (w: Written) => void = () => {}): Promise<Written[]> {
  const results: Written[] = new Array(writes.length);
  let next = 0;
  const worker = async () => {
    while (next < writes.length) {
      const index = next++;
      const write = writes[index]!;
      try {
        const answer: Answer = await call(`${write.url}/values/${encodeURIComponent(write.key)}`, { method: 'PUT', body: write.value });
        results[index] = { ...write, status: answer.status, revision: answer.json?.revision };
      } catch (error) {
        results[index] = { ...write, status: 0, error: String(error) };
      }
      onWritten(results[index]!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}
