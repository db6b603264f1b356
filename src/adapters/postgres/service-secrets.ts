// Secrets the service makes for itself once and keeps in the database (service_secrets,
// migration 012), so every process on it, and every restart, uses the same one.
import { randomBytes } from 'node:crypto';
import type { Database } from './database.ts';

/** The secret kept under name, made (32 random bytes) by whichever process asks first. */
export async function storedServiceSecret(db: Database, name: string): Promise<string> {
  await db.query(`INSERT INTO service_secrets (name, secret) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
    name,
    randomBytes(32).toString('base64url'),
  ]);
  const { rows } = await db.query<{ secret: string }>(`SELECT secret FROM service_secrets WHERE name = $1`, [name]);
  return rows[0]!.secret;
}
