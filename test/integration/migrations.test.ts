// Every stored function has one home: migrations/functions/<name>.sql, re-applied by
// migrate whenever it changes. Versioned migrations (NNN_name.sql) are history; the
// functions they once defined are replaced by the files.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { functionFiles, migrate } from '../../src/adapters/postgres/migrate.ts';
import { startTestApp, testDb, type TestApp } from '../support/harness.ts';

/**
 * Functions that stay in a versioned migration: catalog_fold() is part of the indexes built
 * on it (changing it means rebuilding them, a versioned migration's job). Trigger functions
 * (the payment ledger's guards) are bound to their triggers and are left out by the query.
 */
const indexedFunctions = ['catalog_fold'];

async function functionsInSchema(t: TestApp): Promise<string[]> {
  const { rows } = await t.runtime.db.query<{ name: string }>(
    `SELECT DISTINCT p.proname AS name FROM pg_proc p
     WHERE p.pronamespace = current_schema()::regnamespace AND p.prorettype <> 'trigger'::regtype
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

async function signaturesOf(t: TestApp, name: string): Promise<string[]> {
  const { rows } = await t.runtime.db.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
     WHERE p.proname = $1 AND p.pronamespace = current_schema()::regnamespace`,
    [name],
  );
  return rows.map((row) => row.signature);
}

describe(`migrations on ${testDb}`, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  test('when the schema is migrated, then every stored function in it has its file (or is an indexed one)', async () => {
    const expected = [...functionFiles().keys(), ...indexedFunctions].sort();
    assert.deepEqual(await functionsInSchema(t), expected);
    for (const name of functionFiles().keys()) {
      assert.equal((await signaturesOf(t, name)).length, 1, `${name}: one definition, no leftover overloads`);
    }
  });

  test('when nothing changed, then migrating again applies nothing', async () => {
    assert.deepEqual(await migrate(t.runtime.db), []);
  });

  test('when a function file changed, then migrate re-applies it, dropping every earlier signature', async () => {
    const [signature] = await signaturesOf(t, 'hold_seats');
    // A leftover definition with other arguments, as an earlier version of the file would leave.
    await t.runtime.db.exec(`CREATE FUNCTION hold_seats(p_event uuid) RETURNS integer LANGUAGE sql AS 'SELECT 1'`);
    await t.runtime.db.query(`UPDATE schema_functions SET checksum = 'changed' WHERE name = 'hold_seats'`);

    assert.deepEqual(await migrate(t.runtime.db), ['functions/hold_seats.sql']);
    assert.deepEqual(await signaturesOf(t, 'hold_seats'), [signature]);
    assert.deepEqual(await migrate(t.runtime.db), []);
  });
});
