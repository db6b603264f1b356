#!/usr/bin/env node
// Before the test suite (npm's pretest): build the web app, and make sure Debian's chromium
// is there for the browser tests, installing it with apt-get when we may (root) and it is
// missing. Never a downloaded browser: playwright-core drives the system's chromium.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run('npm', ['run', '--silent', 'build:web']);

if (!existsSync(chromium)) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!root || !apt) {
    process.stderr.write(
      `The browser tests need Debian's chromium at ${chromium}: run "sudo apt-get install chromium" ` +
        '(or set CHROMIUM_PATH to a chromium binary).\n',
    );
    process.exit(1);
  }
  process.stdout.write('installing Debian chromium for the browser tests (apt-get)\n');
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', 'chromium'], { DEBIAN_FRONTEND: 'noninteractive' });
}
