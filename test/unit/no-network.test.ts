// The guard every test process runs under: only loopback targets pass. Checked on the
// argument forms Socket#connect receives, without opening any socket.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
// @ts-expect-error: a plain .mjs module without type declarations
import { isLoopback, targetOf } from '../support/no-network.mjs';

describe('test network guard', () => {
  test('when a socket aims at another host in any call form, then it is refused; loopback and unix sockets pass', () => {
    const forms: [unknown[], boolean][] = [
      [[[{ host: '10.1.2.3', port: 80 }, () => {}]], false], // net.connect's normalized form
      [[{ host: '192.0.2.7', port: 443 }], false],
      [[443, 'example.org'], false],
      [[[{ host: '127.0.0.1', port: 5432 }, null]], true],
      [[{ host: 'localhost', port: 6379 }], true],
      [[{ host: '::1', port: 6379 }], true],
      [[5432], true],
      [['/var/run/postgresql/.s.PGSQL.5432'], true],
    ];
    for (const [args, allowed] of forms) {
      const target = targetOf(args);
      assert.equal(target.path !== undefined || isLoopback(target.host), allowed, JSON.stringify(args));
    }
  });
});
