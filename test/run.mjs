#!/usr/bin/env node
// The whole test suite: unit tests once, then every database-backed test twice: on the
// embedded PGlite default and on real PostgreSQL (DATABASE_URL, default the local server);
// a file that needs PostgreSQL (or checks nothing the database changes) runs on it only.
// A PostgreSQL that cannot be reached fails the run; it is never silently skipped.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
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

// A file whose every test needs PostgreSQL skips itself on PGlite (for a direct run) and says so
// on a line of its own: the PGlite pass does not start it, as a process that loads the app only
// to skip costs about 2 s. A file with the line and no skip is an error, not a file never run.
const postgresOnlyLine = '// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.';
const postgresOnly = (file) => {
  const text = readFileSync(path.join(root, file), 'utf8');
  if (!text.split('\n').includes(postgresOnlyLine)) return false;
  if (!text.includes("testDb !== 'postgres'"))
    throw new Error(`${file} is marked PostgreSQL only but never skips on PGlite`);
  return true;
};

const runs = [
  { name: 'unit', files: unit, env: {} },
  { name: 'pglite', files: backed.filter((file) => !postgresOnly(file)), env: { BOXOFFICE_TEST_DB: 'pglite' } },
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
