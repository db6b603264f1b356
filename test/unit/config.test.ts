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

  test('when the crowd-control settings are given, then they are checked like the rest', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.RATE_LIMITS, 'on');
    assert.equal(defaults.RATE_LIMIT_SCOPE, 'shared');
    assert.equal(defaults.IN_FLIGHT_MAX, 1000);
    assert.equal(defaults.ADMIT_TICK_MS, 250);
    assert.equal(defaults.TRUST_PROXY, 'false');
    for (const value of ['true', '2', '10.0.0.0/8', '10.0.0.1, 10.0.0.2', '::1']) {
      assert.equal(loadConfig({ TRUST_PROXY: value }).TRUST_PROXY, value);
    }
    for (const [key, value] of [
      ['TRUST_PROXY', 'yes please'],
      ['TRUST_PROXY', '10.0.0.1,'],
      ['RATE_LIMIT_SCOPE', 'global'],
      ['IN_FLIGHT_MAX', '0'],
      ['ADMISSION_SECRET', 'short'],
      ['RATE_LIMIT_USER_BURST', '-1'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [key]: value }),
        (error: Error) => error.message.includes(key),
        `${key}=${value}`,
      );
    }
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
