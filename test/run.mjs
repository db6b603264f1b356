#!/usr/bin/env node
// The whole test suite: unit tests once, then every database-backed test twice: on the
// embedded PGlite default and on real PostgreSQL (DATABASE_URL, default the local server).
// A PostgreSQL that cannot be reached fails the run; it is never silently skipped.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const filesUnder = (dir) =>
  readdirSync(path.join(root, dir), { recursive: true })
    .map((name) => path.join(dir, String(name)))
    .filter((name) => name.endsWith('.test.ts') && statSync(path.join(root, name)).isFile())
    .sort();

const only = process.argv.slice(2);
const pick = (files) => (only.length ? files.filter((file) => only.some((part) => file.includes(part))) : files);
const unit = pick(filesUnder('test/unit'));
const backed = pick([
  ...filesUnder('test/http'),
  ...filesUnder('test/integration'),
  ...filesUnder('test/sim'),
  // The web app in Debian's chromium (playwright-core), against a real server process.
  ...filesUnder('test/browser'),
]);
const postgresUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const runs = [
  { name: 'unit', files: unit, env: {} },
  { name: 'pglite', files: backed, env: { BOXOFFICE_TEST_DB: 'pglite' } },
  { name: 'postgres', files: backed, env: { BOXOFFICE_TEST_DB: 'postgres', DATABASE_URL: postgresUrl } },
];

let passed = 0;
let failed = 0;
for (const run of runs) {
  if (run.files.length === 0) continue;
  process.stdout.write(`\n=== ${run.name}: ${run.files.length} files ===\n`);
  const result = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      './test/support/no-network.mjs',
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      ...run.files,
    ],
    { cwd: root, env: { ...process.env, ...run.env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  const count = (label) =>
    Number(
      /(?:ℹ|#) (?:pass|fail) \d+/.test(result.stdout)
        ? ((result.stdout.match(new RegExp(`(?:ℹ|#) ${label} (\\d+)`)) ?? [])[1] ?? 0)
        : 0,
    );
  const runPassed = count('pass');
  const runFailed = count('fail') + (result.status !== 0 && count('fail') === 0 ? 1 : 0);
  passed += runPassed;
  failed += runFailed;
  process.stdout.write(`=== ${run.name}: ${runPassed} passed, ${runFailed} failed ===\n`);
}
process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
