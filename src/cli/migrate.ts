// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database).
// Imports only the config and the database adapter: no HTTP, no Redis.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../adapters/postgres/database.ts';
import { migrate } from '../adapters/postgres/migrate.ts';

const config = loadConfig();
const db = await openDatabase(config);
try {
  const applied = await migrate(db);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
} finally {
  await db.close();
}
