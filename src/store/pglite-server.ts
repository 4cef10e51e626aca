import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** Unix socket paths are limited to 107 bytes; a deep DATA_DIR gets its socket in the temp dir. */
const MAX_SOCKET_PATH = 100;

export interface EmbeddedDatabase {
  readonly socketPath: string;
  close(): Promise<void>;
}

/**
 * Embedded mode's database: PGlite (PostgreSQL compiled to WASM) with its files under DATA_DIR,
 * served on a Unix socket so that the PostgreSQL adapter talks to it unchanged. One connection:
 * PGlite is single-session, so two client connections would interleave inside one transaction.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const releaseLock = lockDataDir(dir);
  const pgdata = join(dir, 'pgdata');
  const fresh = !existsSync(join(pgdata, 'PG_VERSION'));
  let db = await PGlite.create({ dataDir: pgdata });
  if (fresh) {
    // initdb's WASM memory (about 600 MB) stays with the instance that created the directory. Opened
    // again, the first instance can be collected, but with so little on the JS heap no full GC
    // comes for a long time: one is asked for, once, so the process runs with ~300 MB less RSS.
    await db.close();
    db = await PGlite.create({ dataDir: pgdata });
    fullGc();
  }
  let socketPath = join(dir, '.s.PGSQL.driftkv');
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) socketPath = join(tmpdir(), `driftkv-${process.pid}.sock`);
  const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 });
  rmSync(socketPath, { force: true }); // left behind by a process that was killed
  await server.start();
  return {
    socketPath,
    async close() {
      await server.stop();
      await db.close();
      releaseLock();
    },
  };
}

function fullGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Two processes on one PGlite directory would corrupt it: the second refuses to start. */
function lockDataDir(dir: string): () => void {
  const lockFile = join(dir, 'driftkv.pid');
  const holder = readPid(lockFile);
  if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
    throw new Error(`DATA_DIR ${dir} is in use by process ${holder}; stop it or choose another DATA_DIR`);
  }
  writeFileSync(lockFile, String(process.pid));
  return () => rmSync(lockFile, { force: true });
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
