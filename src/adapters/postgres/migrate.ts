// Plain-SQL migrations, in one transaction under an advisory lock so several starting
// processes apply them once:
// - migrations/NNN_name.sql (tables, indexes, data): applied once each, in order, never
//   edited after they shipped;
// - migrations/functions/<name>.sql (one stored function each, its live definition):
//   re-applied after the versioned ones whenever the file changed (as Flyway's
//   repeatable migrations), so a function is read and changed in one place.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, SqlExecutor } from './database.ts';

export const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
const functionsDir = path.join(migrationsDir, 'functions');
const migrationLockKey = 7_211_042; // arbitrary, constant: "boxoffice migrations"

/** The stored functions that have a file under migrations/functions, by name. */
export function functionFiles(): Map<string, string> {
  const files = readdirSync(functionsDir).filter((name) => /^[a-z_][a-z0-9_]*\.sql$/.test(name));
  return new Map(files.sort().map((file) => [path.basename(file, '.sql'), path.join(functionsDir, file)]));
}

/** Applies what is pending; returns the versioned files and the functions it applied. */
export async function migrate(db: Database): Promise<string[]> {
  const files = readdirSync(migrationsDir)
    .filter((name) => /^\d{3}_[\w-]+\.sql$/.test(name))
    .sort();
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((row) => row.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      await tx.exec(readFileSync(path.join(migrationsDir, file), 'utf8'));
      await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
    applied.push(...(await applyFunctions(tx)));
  });
  return applied;
}

async function applyFunctions(tx: SqlExecutor): Promise<string[]> {
  await tx.query(
    `CREATE TABLE IF NOT EXISTS schema_functions (
       name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const stored = new Map(
    (await tx.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_functions')).rows.map(
      (row) => [row.name, row.checksum],
    ),
  );
  const applied: string[] = [];
  for (const [name, file] of functionFiles()) {
    const script = readFileSync(file, 'utf8');
    const checksum = createHash('sha256').update(script).digest('hex');
    if (stored.get(name) === checksum) continue;
    // Every earlier definition goes first, whatever its arguments: a file that changes a
    // function's signature or result needs no versioned migration to drop the old one.
    const { rows } = await tx.query<{ signature: string }>(
      `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
       WHERE p.proname = $1 AND p.pronamespace = current_schema()::regnamespace`,
      [name],
    );
    for (const { signature } of rows) await tx.exec(`DROP FUNCTION ${signature}`);
    await tx.exec(script);
    const defined = await tx.query(
      'SELECT 1 FROM pg_proc WHERE proname = $1 AND pronamespace = current_schema()::regnamespace',
      [name],
    );
    if (defined.rowCount === 0) throw new Error(`migrations/functions/${name}.sql does not define ${name}()`);
    await tx.query(
      `INSERT INTO schema_functions (name, checksum) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()`,
      [name, checksum],
    );
    applied.push(`functions/${name}.sql`);
  }
  return applied;
}
