import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { pickFreePorts } from '../../scripts/cluster/ports.js';

/** A role of the private server, with the authentication method pg_hba.conf gives it. */
export interface Role {
  readonly user: string;
  readonly method: 'scram-sha-256' | 'md5' | 'password';
}

export const PASSWORD = 'p@ss w:rd/é';

/**
 * A PostgreSQL server of its own (initdb in a temporary directory, on a free port) whose roles
 * must give a password, each by another method: the shared server here trusts every local
 * connection, so it never asks. Started from the binaries of the installed server; as the
 * `postgres` user when running as root (initdb refuses root).
 */
export async function startPasswordPostgres(roles: readonly Role[]): Promise<{ url: (user: string, password?: string) => string; stop: () => void }> {
  const bin = serverBin();
  const dir = mkdtempSync(join(tmpdir(), 'driftkv-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, id('-u'), id('-g'));
  const run = (tool: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : join(bin, tool), asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args, { stdio: 'pipe', timeout: 60_000 });
  const [port] = await pickFreePorts(1, '127.0.0.1');
  try {
    run('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    writeFileSync(
      join(dir, 'data/pg_hba.conf'),
      ['local all all trust', 'host all postgres 127.0.0.1/32 trust', ...roles.map((r) => `host all ${r.user} 127.0.0.1/32 ${r.method}`), ''].join('\n'),
    );
    if (asRoot) chownSync(join(dir, 'data/pg_hba.conf'), id('-u'), id('-g'));
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    run('pg_ctl', ['-D', join(dir, 'data'), '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const stop = () => {
    try {
      run('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const admin = postgres({ host: '127.0.0.1', port, username: 'postgres', database: 'postgres', max: 1, onnotice: () => {} });
    try {
      for (const role of roles) {
        // How the password is stored decides which methods can check it: md5 needs an md5 hash.
        await admin.unsafe(`set password_encryption = '${role.method === 'md5' ? 'md5' : 'scram-sha-256'}'`);
        await admin.unsafe(`create role ${role.user} login password '${PASSWORD.replace(/'/g, "''")}'`);
        await admin.unsafe(`grant all on database postgres to ${role.user}`);
        await admin.unsafe(`grant all on schema public to ${role.user}`);
      }
    } finally {
      await admin.end();
    }
  } catch (error) {
    stop();
    throw error;
  }
  return {
    url: (user, password = PASSWORD) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    stop,
  };
}

function serverBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, versions[0]!, 'bin');
}

/** The postgres user's uid (`-u`) or gid (`-g`). */
function id(which: '-u' | '-g'): number {
  return Number(execFileSync('id', [which, 'postgres'], { encoding: 'utf8' }).trim());
}
