// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded database).
import { loadConfig } from '../../config.ts';
import { openDatabase } from '../../runtime.ts';
import { migrate } from './migrate.ts';

const config = loadConfig();
const db = await openDatabase(config);
try {
  const applied = await migrate(db);
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'up to date\n');
} finally {
  await db.close();
}
