import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, isDemoMode, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  test('when nothing is set, then the documented defaults apply and demo mode is on', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.HOST, '127.0.0.1');
    assert.equal(config.HOLD_TTL_SECONDS, 600);
    assert.equal(config.DATA_DIR, './data');
    assert.equal(config.WORKERS, 1);
    assert.equal(config.DATABASE_URL, undefined);
    assert.ok(isDemoMode(config));
  });

  test('when values are bad, then the start stops with a message naming each', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', HOLD_TTL_SECONDS: '0' }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /PORT/);
        assert.match(error.message, /HOLD_TTL_SECONDS/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ AUTH_SECRET: 'short' }), /AUTH_SECRET/);
    assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
    assert.throws(
      () => loadConfig({ WORKERS: '4' }),
      /WORKERS > 1 needs DATABASE_URL .* missing: DATABASE_URL, REDIS_URL/,
    );
    assert.throws(
      () => loadConfig({ WORKERS: '2', DATABASE_URL: 'postgres://localhost/db' }),
      /WORKERS > 1 needs .*REDIS_URL.* missing: REDIS_URL$/,
    );
    assert.throws(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' }), /REDIS_URL/);
    assert.throws(() => loadConfig({ HOLD_GATE: 'maybe' }), /HOLD_GATE/);
    assert.throws(() => loadConfig({ REDIS_CLUSTER: 'yes' }), /REDIS_CLUSTER/);
    assert.throws(() => loadConfig({ AUTH_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://idp/jwks' }), /not both/);
  });

  test('when an identity provider is configured, then demo mode is off', () => {
    assert.equal(isDemoMode(loadConfig({ AUTH_SECRET: 'x'.repeat(32) })), false);
    const several = loadConfig({
      PORT: '8080',
      WORKERS: '3',
      DATABASE_URL: 'postgres://localhost/db',
      REDIS_URL: 'redis://127.0.0.1:7001,redis://127.0.0.1:7002',
      REDIS_CLUSTER: 'true',
    });
    assert.equal(several.WORKERS, 3);
    assert.equal(several.REDIS_CLUSTER, 'true');
  });
});
