import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkServable, ConfigError, isDemoMode, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  test('when nothing is set, then the documented defaults apply, demo mode is off and nobody can sign in', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 3000);
    assert.equal(config.HOST, '127.0.0.1');
    assert.equal(config.HOLD_TTL_SECONDS, 600);
    assert.equal(config.DATA_DIR, './data');
    assert.equal(config.WORKERS, 1);
    assert.equal(config.DATABASE_URL, undefined);
    assert.equal(isDemoMode(config), false, 'demo mode is asked for, never a fallback');
    assert.throws(() => checkServable(config), /no identity provider/);
  });

  test('when demo mode is asked for, then only embedded, on a loopback address and without an identity provider', () => {
    const demo = loadConfig({ DEMO_MODE: 'true' });
    assert.ok(isDemoMode(demo));
    assert.doesNotThrow(() => checkServable(demo));
    assert.ok(isDemoMode(loadConfig({ DEMO_MODE: 'true', HOST: '::1', REDIS_URL: 'redis://127.0.0.1:6379' })));
    const refused: [Record<string, string>, RegExp][] = [
      [{ DATABASE_URL: 'postgres://localhost/db' }, /DATABASE_URL is set/],
      [{ HOST: '0.0.0.0' }, /HOST 0.0.0.0 is not a loopback address/],
      [{ HOST: '192.168.1.10' }, /not a loopback address/],
      [{ AUTH_SECRET: 'x'.repeat(32) }, /AUTH_SECRET is set/],
    ];
    for (const [env, message] of refused) {
      assert.throws(
        () => loadConfig({ DEMO_MODE: 'true', ...env }),
        (error: Error) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /DEMO_MODE=true refused/);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    assert.throws(() => loadConfig({ DEMO_MODE: 'yes' }), /DEMO_MODE/);
  });

  test('when ticket keys, mail and outbox settings are given, then they are checked like the rest', () => {
    const secret = 's'.repeat(32);
    const config = loadConfig({ TICKET_SIGNING_KEYS: `k2:${secret},k1:${secret}x`, SMTP_URL: 'smtp://127.0.0.1:2525' });
    assert.equal(config.TICKET_SIGNING_KEYS, `k2:${secret},k1:${secret}x`);
    assert.equal(config.OUTBOX_BATCH_MAX, 500);
    assert.throws(() => loadConfig({ TICKET_SIGNING_KEYS: 'k1:short' }), /TICKET_SIGNING_KEYS/);
    assert.throws(() => loadConfig({ TICKET_SIGNING_KEYS: `bad id!:${secret}` }), /TICKET_SIGNING_KEYS/);
    assert.throws(() => loadConfig({ TICKET_SIGNING_KEYS: `k1:${secret},k1:${secret}y` }), /key id k1 twice/);
    assert.throws(() => loadConfig({ SMTP_URL: 'http://mail' }), /SMTP_URL/);
    assert.throws(() => loadConfig({ OUTBOX_BATCH_MAX: '0' }), /OUTBOX_BATCH_MAX/);
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

  test('when the connection, stream and seat-list limits are given, then they are checked like the rest', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.CONNECTIONS_PER_ADDRESS_MAX, 256);
    assert.equal(defaults.HEADERS_TIMEOUT_MS, 10_000);
    assert.equal(defaults.REQUEST_TIMEOUT_MS, 30_000);
    assert.equal(defaults.CONNECTIONS_CHECKING_INTERVAL_MS, 1_000);
    assert.equal(defaults.SSE_STREAMS_PER_ADDRESS_MAX, 100);
    assert.equal(defaults.SSE_STREAMS_PER_USER_MAX, 10);
    assert.equal(defaults.SEAT_LIST_SEATS_MAX, 20_000);
    assert.equal(defaults.SEAT_LIST_MAX_AGE_MS, 1_000);
    assert.equal(defaults.RATE_LIMIT_SEAT_LIST_PER_SECOND, 1);
    assert.equal(defaults.RATE_LIMIT_SEAT_LIST_BURST, 10);
    const off = loadConfig({
      CONNECTIONS_PER_ADDRESS_MAX: '0',
      SSE_STREAMS_PER_ADDRESS_MAX: '0',
      SEAT_LIST_MAX_AGE_MS: '0',
    });
    assert.equal(off.CONNECTIONS_PER_ADDRESS_MAX, 0);
    assert.equal(off.SSE_STREAMS_PER_ADDRESS_MAX, 0);
    assert.equal(off.SEAT_LIST_MAX_AGE_MS, 0);
    for (const [key, value] of [
      ['CONNECTIONS_PER_ADDRESS_MAX', '-1'],
      ['REQUEST_TIMEOUT_MS', '0'],
      ['HEADERS_TIMEOUT_MS', 'ten seconds'],
      ['CONNECTIONS_CHECKING_INTERVAL_MS', '0'],
      ['SSE_STREAMS_PER_USER_MAX', '1.5'],
      ['SEAT_LIST_SEATS_MAX', '0'],
      ['RATE_LIMIT_SEAT_LIST_BURST', '0'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [key]: value }),
        (error: Error) => error instanceof ConfigError && error.message.includes(key),
        `${key}=${value}`,
      );
    }
    assert.throws(
      () => loadConfig({ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }),
      /HEADERS_TIMEOUT_MS must not be above REQUEST_TIMEOUT_MS/,
    );
  });

  test('when an identity provider is configured, then demo mode is off and the server may start', () => {
    const configured = loadConfig({ AUTH_SECRET: 'x'.repeat(32) });
    assert.equal(isDemoMode(configured), false);
    assert.doesNotThrow(() => checkServable(configured));
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

  test('when an identity provider is configured by JWKS, then it is https (http only on loopback) with issuer and audience', () => {
    const provider = { AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'boxoffice' };
    assert.equal(
      loadConfig({ AUTH_JWKS_URL: 'https://idp.example/jwks', ...provider }).AUTH_JWKS_URL,
      'https://idp.example/jwks',
    );
    for (const loopback of ['http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:9000/jwks']) {
      assert.equal(loadConfig({ AUTH_JWKS_URL: loopback, ...provider }).AUTH_JWKS_URL, loopback, loopback);
    }
    for (const url of [
      'http://idp.example/jwks',
      'http://10.0.0.5/jwks',
      'http://127.0.0.1.evil.example/jwks',
      'ftp://idp/jwks',
      'https://',
    ]) {
      assert.throws(
        () => loadConfig({ AUTH_JWKS_URL: url, ...provider }),
        (error: Error) => error instanceof ConfigError && /AUTH_JWKS_URL/.test(error.message),
        url,
      );
    }
    assert.throws(
      () => loadConfig({ AUTH_JWKS_URL: 'https://idp.example/jwks' }),
      (error: Error) =>
        error instanceof ConfigError && /AUTH_ISSUER/.test(error.message) && /AUTH_AUDIENCE/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'https://idp.example' }),
      /AUTH_AUDIENCE/,
    );
    assert.throws(
      () => loadConfig({ AUTH_SECRET: 'x'.repeat(32), AUTH_AUDIENCE: 'boxoffice-admission' }),
      (error: Error) => error instanceof ConfigError && /AUTH_AUDIENCE/.test(error.message),
    );
  });

  test('when token age limits are given, then they are checked like the rest', () => {
    const defaults = loadConfig({});
    assert.equal(defaults.AUTH_TOKEN_MAX_AGE_SECONDS, 86_400);
    assert.equal(defaults.AUTH_CLOCK_SKEW_SECONDS, 60);
    assert.equal(loadConfig({ AUTH_TOKEN_MAX_AGE_SECONDS: '3600' }).AUTH_TOKEN_MAX_AGE_SECONDS, 3600);
    for (const [key, value] of [
      ['AUTH_TOKEN_MAX_AGE_SECONDS', '0'],
      ['AUTH_TOKEN_MAX_AGE_SECONDS', 'a day'],
      ['AUTH_CLOCK_SKEW_SECONDS', '-1'],
      ['AUTH_CLOCK_SKEW_SECONDS', '3601'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [key]: value }),
        (error: Error) => error instanceof ConfigError && error.message.includes(key),
        `${key}=${value}`,
      );
    }
  });
});
