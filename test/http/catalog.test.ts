// The catalog over HTTP: search relevance on a fixed corpus, every filter, keyset
// pagination while rows arrive, typos and accents, hostile queries, venue / performer /
// event management (drafts, cancellation, seat-map edits) and the cache validators.
// Every describe has an app of its own, so the corpus is exactly what it creates.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { CatalogClient, pricedMap } from '../support/catalog.ts';
import { dayMs, startTestApp, tableCounts, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const at = (day: number) => new Date(startMs + day * dayMs).toISOString();
const enc = encodeURIComponent;
const sorted = (values: string[]) => [...values].sort();

type Injected = Awaited<ReturnType<TestApp['app']['inject']>>;

function assertProblem(response: Injected, status: number, code?: string) {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  if (code) assert.equal(response.json().code, code, response.body);
}

/** Row counts of the catalog tables, beside the booking tables of tableCounts. */
async function catalogCounts(t: TestApp) {
  const { rows } = await t.runtime.db.query<Record<string, number>>(
    `SELECT (SELECT count(*) FROM venues)::int AS venues, (SELECT count(*) FROM performers)::int AS performers,
            (SELECT count(*) FROM event_performers)::int AS event_performers,
            (SELECT count(*) FROM events WHERE status = 'published')::int AS published`,
  );
  return { ...(await tableCounts(t)), ...rows[0]! };
}

// src bugs found by these tests and not fixed in src/ when they were written: each test
// below that shows one runs as a todo (its failure is reported, not counted). Delete the
// entry once src/ is fixed, and the test counts again.

// ---------------------------------------------------------------------------------------
// A fixed corpus of twelve events, for relevance and for the filters.

describe('catalog search on a fixed corpus', () => {
  let t: TestApp;
  let c: CatalogClient;
  let clock: ManualClock;
  const ids: Record<string, string> = {};

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock });
    c = new CatalogClient(t, startMs);
    const org = 'org-a';
    const beyonce = await c.performer(org, 'Beyoncé');
    const mariza = await c.performer(org, 'Mariza');
    const weeknd = await c.performer(org, 'The Weeknd');
    const lounge = await c.venue(org, { name: 'Beyoncé Lounge', city: 'Paris' });
    const add = async (key: string, fields: Record<string, unknown>, prices: number[], seatsPerTier = 5) => {
      ids[key] = await c.event(org, { ...pricedMap(prices, seatsPerTier), ...fields });
    };
    // name, a performer, the venue, the description: the four places "beyonce" can be,
    // starting in the opposite order, so relevance order is not date order.
    await add(
      'tour',
      { name: 'Beyoncé Renaissance Tour', day: 10, venue: { name: 'NRG Stadium', city: 'Houston' } },
      [15_000, 30_000],
    );
    await add(
      'stadium',
      {
        name: 'Summer Stadium Night',
        day: 20,
        venue: { name: 'Wembley', city: 'London' },
        performer_ids: [beyonce.performer_id],
      },
      [8_000, 12_000],
    );
    await add('tribute', { name: 'Tribute Evening', day: 8, venue_id: lounge.venue_id }, [3_000]);
    await add(
      'brunch',
      {
        name: 'Jazz Brunch',
        day: 5,
        category: 'jazz',
        description: 'Songs made famous by Beyoncé, reimagined',
        venue: { name: 'Sunset Club', city: 'Paris' },
      },
      [2_500, 4_000],
    );
    await add(
      'fado',
      {
        name: 'Fado Night',
        day: 12,
        category: 'folk',
        venue: { name: 'Clube de Fado', city: 'Lisbon' },
        performer_ids: [mariza.performer_id],
      },
      [2_000, 4_000],
    );
    await add(
      'hours',
      {
        name: 'After Hours Tour',
        day: 14,
        venue: { name: 'Uber Arena', city: 'Berlin' },
        performer_ids: [weeknd.performer_id],
      },
      [9_000, 20_000],
    );
    await add(
      'swan',
      { name: 'Swan Lake', day: 16, category: 'ballet', venue: { name: 'Staatsoper', city: 'Berlin' } },
      [8_000, 15_000],
    );
    await add(
      'hamlet',
      { name: 'Hamlet', day: 18, category: 'theatre', venue: { name: 'Globe', city: 'London' } },
      [5_000, 7_000],
    );
    await add(
      'lecture',
      { name: 'Renaissance Art Lecture', day: 22, category: 'talk', venue: { name: 'Uffizi Hall', city: 'Florence' } },
      [1_000],
    );
    await add(
      'cafe',
      { name: 'Café Tacuba Live', day: 24, venue: { name: 'Espaço Unimed', city: 'São Paulo' } },
      [6_000, 9_000],
    );
    await add('gig', { name: 'Small Club Gig', day: 26, venue: { name: 'Kellerclub', city: 'Berlin' } }, [1_500], 2);
    await add(
      'comedy',
      { name: 'Comedy Cellar Late Show', day: 28, category: 'comedy', venue: { name: 'The Cellar', city: 'New York' } },
      [3_500],
      1,
    );
  });
  after(() => t.close());

  test('when searching a word, then name and performer matches come before venue matches before description matches', async () => {
    const found = await c.names('q=beyonce');
    assert.equal(found.length, 4, found.join(', '));
    assert.deepEqual(
      sorted(found.slice(0, 2)),
      sorted(['Beyoncé Renaissance Tour', 'Summer Stadium Night']),
      'name or performer',
    );
    assert.equal(found[2], 'Tribute Evening', 'venue name');
    assert.equal(found[3], 'Jazz Brunch', 'description');
    // The same word in an event name (A) beats it in a venue name (B).
    assert.deepEqual(await c.names('q=stadium'), ['Summer Stadium Night', 'Beyoncé Renaissance Tour']);
    assert.deepEqual(await c.names('q=reimagined'), ['Jazz Brunch']);
    assert.deepEqual(await c.names('q=mariza'), ['Fado Night'], 'a performer name');
    assert.deepEqual(sorted(await c.names('q=paris')), sorted(['Tribute Evening', 'Jazz Brunch']), 'a city');
  });

  test('when searching a prefix, any case or accents, then the same events come back', async () => {
    const expected = await c.names('q=beyonce');
    for (const q of ['beyon', 'Beyonce', 'BEYONCÉ', 'Beyoncé', 'bEyOnCe', 'beyoncé']) {
      assert.deepEqual(await c.names(`q=${enc(q)}`), expected, q);
    }
    assert.deepEqual(await c.names('q=cafe'), ['Café Tacuba Live'], '"cafe" finds "Café"');
    assert.deepEqual(await c.names(`q=${enc('CAFÉ tacu')}`), ['Café Tacuba Live']);
    assert.deepEqual(await c.names('q=sao%20paulo'), ['Café Tacuba Live'], '"sao paulo" finds "São Paulo"');
    assert.deepEqual(await c.names(`q=${enc('espaco')}`), ['Café Tacuba Live'], '"espaco" finds "Espaço"');
  });

  test('when searching several words, then every word must match', async () => {
    assert.deepEqual(await c.names('q=beyonce%20tour'), ['Beyoncé Renaissance Tour']);
    assert.deepEqual(await c.names('q=beyonce%20paris'), ['Tribute Evening', 'Jazz Brunch']);
    assert.deepEqual(sorted(await c.names('q=berlin%20concert')), sorted(['After Hours Tour', 'Small Club Gig']));
    assert.deepEqual(
      sorted(await c.names('q=renaissance')),
      sorted(['Beyoncé Renaissance Tour', 'Renaissance Art Lecture']),
    );
  });

  test('when a word has a typo and nothing matches exactly, then the closest known word is searched', async () => {
    // "beyonse" is corrected to "beyonce" and finds what "beyonce" finds, in its order.
    assert.deepEqual(await c.names('q=beyonse'), await c.names('q=beyonce'));
    assert.ok((await c.names('q=beyonse')).includes('Beyoncé Renaissance Tour'));
    assert.deepEqual(sorted(await c.names('q=BEYONSE')), sorted(await c.names('q=beyonse')), 'typos in any case');
    assert.deepEqual(
      sorted(await c.names('q=renaisance')),
      sorted(['Beyoncé Renaissance Tour', 'Renaissance Art Lecture']),
    );
    assert.deepEqual(await c.names('q=marizza'), ['Fado Night'], 'a performer name with a typo');
    assert.deepEqual(await c.names('q=xylophone'), [], 'nothing close: nothing');
  });

  test('when filtering by city or category, then only those events come, soonest first', async () => {
    assert.deepEqual(await c.names('city=paris'), ['Jazz Brunch', 'Tribute Evening'], 'city is case-insensitive');
    assert.deepEqual(await c.names('city=BERLIN'), ['After Hours Tour', 'Swan Lake', 'Small Club Gig']);
    assert.deepEqual(await c.names(`city=${enc('São Paulo')}`), ['Café Tacuba Live']);
    assert.deepEqual(await c.names('category=ballet'), ['Swan Lake']);
    assert.deepEqual(await c.names('category=jazz'), ['Jazz Brunch']);
    assert.deepEqual(await c.names('city=Atlantis'), []);
  });

  test('when filtering by dates, then from is inclusive and to exclusive', async () => {
    assert.deepEqual(await c.names(`from=${enc(at(16))}&to=${enc(at(20))}`), ['Swan Lake', 'Hamlet']);
    assert.deepEqual(await c.names(`from=${enc(at(15))}&to=${enc(at(21))}`), [
      'Swan Lake',
      'Hamlet',
      'Summer Stadium Night',
    ]);
    assert.deepEqual(await c.names(`from=${enc(at(24))}`), [
      'Café Tacuba Live',
      'Small Club Gig',
      'Comedy Cellar Late Show',
    ]);
    assert.deepEqual(await c.names(`to=${enc(at(12))}`), [
      'Jazz Brunch',
      'Tribute Evening',
      'Beyoncé Renaissance Tour',
    ]);
  });

  test('when filtering by price, then events whose tier range overlaps the asked range come', async () => {
    // [8000,12000] and [9000,20000] and [8000,15000] overlap [10000,12000]; [15000,30000] and [6000,9000] do not.
    assert.deepEqual(await c.names('price_min=10000&price_max=12000'), [
      'After Hours Tour',
      'Swan Lake',
      'Summer Stadium Night',
    ]);
    assert.deepEqual(await c.names('price_min=30000'), ['Beyoncé Renaissance Tour'], 'bounds are inclusive');
    assert.deepEqual(await c.names('price_min=30001'), []);
    assert.deepEqual(await c.names('price_max=1500'), ['Renaissance Art Lecture', 'Small Club Gig']);
    assert.deepEqual(await c.names('price_min=9000&price_max=9000'), [
      'After Hours Tour',
      'Swan Lake',
      'Summer Stadium Night',
      'Café Tacuba Live',
    ]);
  });

  // Soonest first, the order of a date listing of the whole corpus.
  const order = [
    'Jazz Brunch',
    'Tribute Evening',
    'Beyoncé Renaissance Tour',
    'Fado Night',
    'After Hours Tour',
    'Swan Lake',
    'Hamlet',
    'Summer Stadium Night',
    'Renaissance Art Lecture',
    'Café Tacuba Live',
    'Small Club Gig',
    'Comedy Cellar Late Show',
  ];

  test('when listing without filters, then every published event comes in start order', async () => {
    assert.deepEqual(await c.names('limit=50'), order);
  });

  test('when filters are combined, with or without text, then all of them apply', async () => {
    assert.deepEqual(await c.names('city=Berlin&category=concert&price_max=10000'), [
      'After Hours Tour',
      'Small Club Gig',
    ]);
    assert.deepEqual(await c.names('q=beyonce&city=Paris'), ['Tribute Evening', 'Jazz Brunch']);
    assert.deepEqual(await c.names('q=beyonce&category=jazz'), ['Jazz Brunch']);
    assert.deepEqual(await c.names(`q=beyonce&from=${enc(at(6))}&price_max=5000`), ['Tribute Evening']);
    assert.deepEqual(
      await c.names(`q=beyonce&to=${enc(at(15))}`).then(sorted),
      sorted(['Beyoncé Renaissance Tour', 'Tribute Evening', 'Jazz Brunch']),
    );
    assert.deepEqual(await c.names('q=beyonse&city=london'), ['Summer Stadium Night'], 'typos with a filter');
  });

  test('when sort=date with q, then the matches come soonest first', async () => {
    assert.deepEqual(await c.names('q=beyonce&sort=date'), [
      'Jazz Brunch',
      'Tribute Evening',
      'Beyoncé Renaissance Tour',
      'Summer Stadium Night',
    ]);
    assert.deepEqual(await c.names(`q=beyonce&sort=date&from=${enc(at(6))}`), [
      'Tribute Evening',
      'Beyoncé Renaissance Tour',
      'Summer Stadium Night',
    ]);
    const pages = await c.walk('q=beyonce&sort=date&limit=3');
    assert.deepEqual(
      pages.flat(),
      ['brunch', 'tribute', 'tour', 'stadium'].map((key) => ids[key]),
    );
  });

  test('when sorting by relevance without q or passing the other sort’s cursor, then 400', async () => {
    assertProblem(await c.request('GET', '/v1/events?sort=relevance'), 400, 'VALIDATION_FAILED');
    const relevance = await c.list('q=beyonce&limit=1');
    assert.ok(relevance.next_cursor);
    const byDate = await c.list('limit=1');
    assert.ok(byDate.next_cursor);
    assertProblem(
      await c.request('GET', `/v1/events?q=beyonce&sort=date&cursor=${relevance.next_cursor}`),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(await c.request('GET', `/v1/events?cursor=${relevance.next_cursor}`), 400, 'VALIDATION_FAILED');
    assertProblem(
      await c.request('GET', `/v1/events?q=beyonce&cursor=${byDate.next_cursor}`),
      400,
      'VALIDATION_FAILED',
    );
    for (const query of ['price_min=-1', 'price_min=500&price_max=499', 'available=maybe', 'sort=popularity']) {
      assertProblem(await c.request('GET', `/v1/events?${query}`), 400, 'VALIDATION_FAILED');
    }
  });

  test('when the last seats are booked or held, then available=true leaves the event out until a hold lapses', async () => {
    // Each query below is asked once: hot answers may be served from the cache for a few
    // seconds, and bookings are not catalog changes.
    assert.ok((await c.names('available=true&city=Berlin')).includes('Small Club Gig'));
    await c.buy('buyer-1', ids.gig!, ['s0', 's1']);
    assert.deepEqual(await c.names('available=true&city=berlin'), ['After Hours Tour', 'Swan Lake']);
    assert.deepEqual(
      await c.names('available=true&limit=50'),
      order.filter((name) => name !== 'Small Club Gig'),
    );
    assert.ok((await c.names('available=false&city=berlin')).includes('Small Club Gig'), 'available=false: no filter');
    assert.ok((await c.names('city=berlin&limit=49')).includes('Small Club Gig'), 'sold out is still listed');

    // A hold (not yet paid) takes the comedy show's only seat, until it lapses.
    const held = await c.request('POST', `/v1/events/${ids.comedy}/reservations`, {
      as: 'buyer-2',
      role: 'customer',
      payload: { seat_ids: ['s0'] },
    });
    assert.equal(held.statusCode, 201, held.body);
    assert.deepEqual(await c.names('available=true&category=comedy'), []);
    clock.advance(t.config.HOLD_TTL_SECONDS * 1000);
    assert.deepEqual(await c.names('available=true&category=comedy&limit=7'), ['Comedy Cellar Late Show']);
  });

  test('when asking for suggestions, then events, performers and venues whose names match come', async () => {
    const response = await c.request('GET', '/v1/search/suggest?q=beyon');
    assert.equal(response.statusCode, 200, response.body);
    const suggestions: { kind: string; id: string; name: string }[] = response.json().suggestions;
    const has = (kind: string, name: string) => suggestions.some((s) => s.kind === kind && s.name === name);
    assert.ok(has('event', 'Beyoncé Renaissance Tour'), JSON.stringify(suggestions));
    assert.ok(has('performer', 'Beyoncé'), JSON.stringify(suggestions));
    assert.ok(has('venue', 'Beyoncé Lounge'), JSON.stringify(suggestions));
    const limited = await c.request('GET', '/v1/search/suggest?q=beyon&limit=2');
    assert.equal(limited.json().suggestions.length, 2);
    const typo = (await c.request('GET', '/v1/search/suggest?q=marizza')).json().suggestions;
    assert.ok(
      typo.some((s: { kind: string; name: string }) => s.kind === 'performer' && s.name === 'Mariza'),
      JSON.stringify(typo),
    );
    assertProblem(await c.request('GET', '/v1/search/suggest?q='), 400, 'VALIDATION_FAILED');
    assertProblem(await c.request('GET', '/v1/search/suggest?q=a&limit=21'), 400, 'VALIDATION_FAILED');
  });
});

// ---------------------------------------------------------------------------------------
// Keyset pagination: pages walked while new matching events are inserted between fetches.

describe('catalog pagination while events are added', () => {
  let t: TestApp;
  let c: CatalogClient;
  let added = 0;

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(startMs) });
    c = new CatalogClient(t, startMs);
    for (let index = 0; index < 12; index += 1) {
      // Three ways to match "festival" (name, venue, description), so three score levels
      // with ties inside each; pairs of events share a start time, so dates tie too.
      const day = 10 + Math.floor(index / 2);
      const fields = [
        { name: `Festival Night ${index}`, venue: { name: `Hall ${index}`, city: 'Oslo' } },
        { name: `Open Air ${index}`, venue: { name: 'Festival Grounds', city: 'Oslo' } },
        { name: `Quiet Evening ${index}`, description: 'a festival favourite', venue: { name: 'Room', city: 'Oslo' } },
      ][index % 3]!;
      await c.event('org-p', { ...fields, day });
    }
  });
  after(() => t.close());

  /** Between two pages: a top-scored match starting first, a weak one last, one in the middle. */
  const addMatches = async () => {
    added += 1;
    await c.event('org-p', { name: `Festival Extra ${added}`, day: 1, venue: { name: 'Hall', city: 'Oslo' } });
    await c.event('org-p', {
      name: `Late ${added}`,
      description: 'festival',
      day: 90,
      venue: { name: 'Room', city: 'Oslo' },
    });
    await c.event('org-p', { name: `Midway Festival ${added}`, day: 12, venue: { name: 'Hall', city: 'Oslo' } });
  };

  /** Every event a query finds, in its order (pages of 100, nothing added meanwhile). */
  const everything = async (query: string) => (await c.walk(`${query}&limit=100`)).flat();

  /** Walks query in pages of 3, adding matches between pages; checks the walk against the events before. */
  const walkWhileAdding = async (query: string, between = addMatches) => {
    const existing = await everything(query);
    assert.ok(existing.length >= 12, `${query}: ${existing.length} events before the walk`);
    const pages = await c.walk(`${query}&limit=3`, between);
    for (const page of pages) assert.ok(page.length <= 3);
    const seen = pages.flat();
    assert.equal(new Set(seen).size, seen.length, `${query}: an event came twice`);
    const existingSet = new Set(existing);
    assert.deepEqual(
      seen.filter((id) => existingSet.has(id)),
      existing,
      `${query}: every event there before the walk comes exactly once, in its order`,
    );
    assert.ok(pages.length >= 4, `${query}: ${pages.length} pages`);
    return seen.length - existing.length;
  };

  test('when walking a relevance search while matches are added, then no event repeats and none is skipped', async () => {
    await walkWhileAdding('q=festival');
  });

  test('when walking a date listing while events are added, then no event repeats and none is skipped', async () => {
    const newOnes = await walkWhileAdding('city=Oslo');
    assert.ok(newOnes > 0, 'events starting after the cursor are reached');
  });

  test('when walking a text search in date order while matches are added, then no event repeats and none is skipped', async () => {
    await walkWhileAdding('q=festival&sort=date');
  });

  test('when walking a typo-tolerant search while close matches are added, then no event repeats and none is skipped', async () => {
    await walkWhileAdding('q=festivl', async () => {
      added += 1;
      await c.event('org-p', { name: `Festival Encore ${added}`, day: 50, venue: { name: 'Hall', city: 'Oslo' } });
    });
  });

  test('when an exact match for a typo search appears mid-walk, then the events there before are still all reached', async () => {
    let once = false;
    await walkWhileAdding('q=festivl', async () => {
      if (once) return;
      once = true;
      await c.event('org-p', { name: 'Festivl Typo Gala', day: 51, venue: { name: 'Hall', city: 'Oslo' } });
    });
  });
});

// ---------------------------------------------------------------------------------------
// Hostile and odd queries: a 4xx problem or results, never a 5xx, and nothing changes.

describe('catalog search with hostile queries', () => {
  let t: TestApp;
  let c: CatalogClient;

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(startMs) });
    c = new CatalogClient(t, startMs);
    const performer = await c.performer('org-h', 'Beyoncé');
    const venue = await c.venue('org-h', { name: 'Beyoncé Lounge', city: 'Paris' });
    await c.event('org-h', { name: 'Beyoncé Renaissance Tour', performer_ids: [performer.performer_id] });
    await c.event('org-h', { name: 'Tribute Evening', venue_id: venue.venue_id });
  });
  after(() => t.close());

  const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  test('when q is SQL, tsquery syntax, wildcards, very long, control characters or odd unicode, then 200 or 400, never 5xx', async () => {
    const before = await catalogCounts(t);
    const texts: [string, 200 | 400 | 'either'][] = [
      ["'; DROP TABLE events; --", 200],
      ["' OR '1'='1", 200],
      ['"; SELECT pg_sleep(10); --', 200],
      ['%', 200],
      ['_', 200],
      ['%%%___', 200],
      ['\\', 200],
      ['\\x00', 200],
      ["'", 200],
      ["''", 200],
      ['a:*', 200],
      ['!&|()', 200],
      ['beyonce:* | tour', 200],
      ['<->', 200],
      ['!beyonce', 200],
      ['(beyonce', 200],
      ['$1', 200],
      ['?', 200],
      ['   ', 200],
      ['-', 200],
      ['a'.repeat(200), 200],
      ['ab '.repeat(66) + 'ab', 200],
      ['beyonce '.repeat(25), 200],
      ['a'.repeat(201), 400],
      ['x'.repeat(5_000), 400],
      ['\u0000', 400],
      ['beyonce\u0000', 400],
      ['\u0001', 400],
      ['line\nbreak', 400],
      ['tab\there', 400],
      ['\u001f', 400],
      ['\u007f', 400],
      ['🎤', 200],
      ['🎤'.repeat(100), 'either'],
      ['🎤'.repeat(150), 'either'],
      ['שלום עולם', 200],
      ['مرحبا بالعالم', 200],
      ['\u202ebeyonce', 200],
      ['beyonce\u200d', 200],
      ['beyonce\u0301', 200],
      ['東京 ドーム', 200],
      ['ß', 200],
      ['İstanbul', 200],
      ['\ufeff', 200],
      ['\ufffd', 200],
    ];
    const failures: string[] = [];
    for (const [q, expected] of texts) {
      for (const url of [`/v1/events?q=${enc(q)}`, `/v1/search/suggest?q=${enc(q)}`]) {
        const response = await c.request('GET', url);
        const label = `${url.slice(0, 80)} → ${response.statusCode} ${response.body.slice(0, 200)}`;
        const suggestTooLong = url.startsWith('/v1/search') && [...q].length > 100;
        if (response.statusCode >= 500) failures.push(`5xx: ${label}`);
        else if (expected === 'either' || suggestTooLong) {
          if (![200, 400].includes(response.statusCode)) failures.push(`not 200 or 400: ${label}`);
        } else if (response.statusCode !== expected) failures.push(`expected ${expected}: ${label}`);
        if (response.statusCode === 400 && response.json().code !== 'VALIDATION_FAILED')
          failures.push(`code: ${label}`);
      }
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await catalogCounts(t), before, 'the queries changed the database');
  });

  test('when a hostile query holds a real word, then the word is still found', async () => {
    assert.deepEqual(await c.names(`q=${enc("beyonce'; DROP TABLE events; --")}`), []);
    assert.deepEqual(await c.names(`q=${enc('🎤 beyonce')}`), ['Beyoncé Renaissance Tour', 'Tribute Evening']);
    assert.deepEqual(await c.names(`q=${enc('beyonce:* & !tour')}`), ['Beyoncé Renaissance Tour'], 'no operators');
    assert.deepEqual(await c.names(`q=${enc('(tribute)')}`), ['Tribute Evening']);
  });

  test('when the URL holds raw bytes, empty values or unknown parameters, then 4xx, never 5xx', async () => {
    const before = await catalogCounts(t);
    const failures: string[] = [];
    const cursor = (value: unknown) => base64url(value);
    const cases: [string, number | number[]][] = [
      ['/v1/events?q=', 400],
      ['/v1/events?q', 400],
      ['/v1/events?q=%00', 400],
      ['/v1/events?q=%ED%A0%80', [200, 400]],
      ['/v1/events?q=%FF%FE', [200, 400]],
      ['/v1/events?q=%', [200, 400]],
      ['/v1/events?q=%zz', [200, 400]],
      ['/v1/events?q=beyonce&q=tour', [200, 400]],
      ['/v1/events?q[]=x', 400],
      ['/v1/events?q[$ne]=x', 400],
      ['/v1/events?unknown=1', 400],
      ['/v1/events?q=x&select=*', 400],
      ['/v1/events?city=', 400],
      [`/v1/events?city=${enc("'; DROP TABLE events; --")}`, 200],
      ['/v1/events?category=%25', 200],
      [`/v1/events?city=${enc('a'.repeat(101))}`, 400],
      ['/v1/events?limit=-1', 400],
      ['/v1/events?limit=1e3', 400],
      ['/v1/events?price_min=1.5', 400],
      ['/v1/events?price_min=100000001', 400],
      [`/v1/events?from=${enc("2027-01-01'; --")}`, 400],
      [`/v1/events?cursor=${enc("' OR 1=1 --")}`, 400],
      [`/v1/events?cursor=${cursor(['r', 1, "x' OR '1'='1"])}`, 400],
      [`/v1/events?q=x&cursor=${cursor(['r', 1, "x' OR '1'='1"])}`, 400],
      [`/v1/events?q=x&cursor=${cursor(['r', 'NaN', '00000000-0000-0000-0000-000000000000'])}`, 400],
      [`/v1/events?q=x&cursor=${cursor(['r', 1e308, '00000000-0000-0000-0000-000000000000'])}`, 200],
      [`/v1/events?q=x&cursor=${cursor(['r', -1e308, '00000000-0000-0000-0000-000000000000'])}`, 200],
      [`/v1/events?cursor=${cursor([8.64e15 + 1, '00000000-0000-0000-0000-000000000000'])}`, 400],
      [`/v1/events?cursor=${cursor([0, '00000000-0000-0000-0000-000000000000'])}`, 200],
      [`/v1/events?cursor=${cursor({ startsAtMs: 0 })}`, 400],
      [`/v1/events?cursor=${'A'.repeat(301)}`, 400],
      ['/v1/search/suggest', 400],
      ['/v1/search/suggest?q=%00', 400],
      [`/v1/search/suggest?q=${'a'.repeat(101)}`, 400],
      ['/v1/search/suggest?q=x&limit=0', 400],
      ['/v1/search/suggest?q=x&other=1', 400],
      ['/v1/venues/%27%3B%20DROP%20TABLE%20venues%3B--', 404],
      ['/v1/venues/00000000-0000-0000-0000-000000000000', 404],
      ['/v1/performers/not-a-uuid', 404],
      [`/v1/performers/${'a'.repeat(101)}`, [400, 404]],
    ];
    for (const [url, expected] of cases) {
      const response = await c.request('GET', url);
      const label = `${url.slice(0, 100)} → ${response.statusCode} ${response.body.slice(0, 200)}`;
      if (response.statusCode >= 500) failures.push(`5xx: ${label}`);
      else if (![expected].flat().includes(response.statusCode)) failures.push(`expected ${expected}: ${label}`);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual(await catalogCounts(t), before, 'the queries changed the database');
    assert.deepEqual(await c.names('q=beyonce&limit=5'), ['Beyoncé Renaissance Tour', 'Tribute Evening']);
  });

  test('when catalog writes carry SQL or odd unicode, then they are stored as sent and found', async () => {
    const name = "Robert'); DROP TABLE performers; -- 🎤 Ünïcödé";
    const performer = await c.performer('org-h', name);
    assert.equal(performer.name, name);
    const venue = await c.venue('org-h', { name: "O'Brien's %_ Hall", city: 'Zürich' });
    await c.event('org-h', {
      name: 'Little Bobby Tables',
      description: "'; DELETE FROM events; --",
      performer_ids: [performer.performer_id],
      venue_id: venue.venue_id,
    });
    assert.deepEqual(await c.names('q=robert'), ['Little Bobby Tables']);
    assert.deepEqual(await c.names(`q=${enc("o'brien")}`), ['Little Bobby Tables']);
    assert.deepEqual(await c.names('q=unicode%20zurich'), ['Little Bobby Tables']);
    assert.deepEqual(await c.names('q=delete'), ['Little Bobby Tables']);
    const refused = await c.request('POST', '/v1/performers', { as: 'org-h', payload: { name: 'nul\u0000byte' } });
    assertProblem(refused, 400, 'VALIDATION_FAILED');
    const venueRefused = await c.request('POST', '/v1/venues', {
      as: 'org-h',
      payload: { name: 'x', city: 'line\nbreak' },
    });
    assertProblem(venueRefused, 400, 'VALIDATION_FAILED');
  });
});

// ---------------------------------------------------------------------------------------
// Managing the catalog: venues, performers, event states and edits.

describe('catalog management', () => {
  let t: TestApp;
  let c: CatalogClient;
  let clock: ManualClock;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock });
    c = new CatalogClient(t, startMs);
  });
  after(() => t.close());

  const getEvent = (eventId: string, as?: string) => c.request('GET', `/v1/events/${eventId}`, { as });
  const hold = (eventId: string, seatIds = ['s0'], buyer = 'buyer-1') =>
    c.request('POST', `/v1/events/${eventId}/reservations`, {
      as: buyer,
      role: 'customer',
      payload: { seat_ids: seatIds },
    });

  test('when an organizer creates, reads, changes and lists venues, then only they may change them', async () => {
    const created = await c.request('POST', '/v1/venues', {
      as: 'org-v',
      payload: {
        name: 'Konzerthaus',
        city: 'Vienna',
        address: 'Lothringerstraße 20',
        latitude: 48.2,
        longitude: 16.38,
        capacity: 1_800,
      },
    });
    assert.equal(created.statusCode, 201, created.body);
    const venue = created.json();
    assert.equal(created.headers.location, `/v1/venues/${venue.venue_id}`);
    assert.deepEqual(venue, {
      venue_id: venue.venue_id,
      organizer_id: 'org-v',
      name: 'Konzerthaus',
      city: 'Vienna',
      address: 'Lothringerstraße 20',
      latitude: 48.2,
      longitude: 16.38,
      capacity: 1_800,
      created_at: new Date(startMs).toISOString(),
      updated_at: new Date(startMs).toISOString(),
    });
    const read = await c.request('GET', `/v1/venues/${venue.venue_id}`);
    assert.equal(read.statusCode, 200);
    const { organizer_id: _organizer, ...publicVenue } = venue;
    assert.deepEqual(read.json(), publicVenue, 'anyone may read a venue, but not whose it is');

    clock.advance(1_000);
    const patched = await c.request('PATCH', `/v1/venues/${venue.venue_id}`, {
      as: 'org-v',
      payload: { capacity: null, address: 'Lothringerstr. 20' },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json().capacity, null);
    assert.equal(patched.json().address, 'Lothringerstr. 20');
    assert.equal(patched.json().name, 'Konzerthaus', 'fields not sent are kept');
    assert.equal(patched.json().updated_at, new Date(startMs + 1_000).toISOString());
    assert.equal(patched.json().created_at, venue.created_at);

    assertProblem(
      await c.request('PATCH', `/v1/venues/${venue.venue_id}`, { as: 'org-other', payload: { name: 'Mine now' } }),
      404,
      'VENUE_NOT_FOUND',
    );
    assertProblem(
      await c.request('PATCH', `/v1/venues/${venue.venue_id}`, {
        as: 'buyer-1',
        role: 'customer',
        payload: { name: 'x' },
      }),
      403,
      'FORBIDDEN',
    );
    assertProblem(
      await c.request('POST', '/v1/venues', { as: 'buyer-1', role: 'customer', payload: { name: 'x', city: 'y' } }),
      403,
      'FORBIDDEN',
    );
    assertProblem(await c.request('POST', '/v1/venues', { payload: { name: 'x', city: 'y' } }), 401, 'UNAUTHENTICATED');
    assertProblem(
      await c.request('POST', '/v1/venues', { as: 'org-v', payload: { name: 'x', city: 'y', latitude: 1 } }),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(
      await c.request('PATCH', `/v1/venues/${venue.venue_id}`, { as: 'org-v', payload: { longitude: null } }),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(
      await c.request('PATCH', `/v1/venues/${venue.venue_id}`, { as: 'org-v', payload: {} }),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(await c.request('GET', '/v1/venues/00000000-0000-0000-0000-000000000000'), 404, 'VENUE_NOT_FOUND');

    const second = await c.venue('org-v', { name: 'Musikverein', city: 'Vienna' });
    const mine = await c.request('GET', '/v1/me/venues', { as: 'org-v' });
    assert.deepEqual(
      mine.json().venues.map((v: { venue_id: string }) => v.venue_id),
      [venue.venue_id, second.venue_id],
    );
    assert.deepEqual((await c.request('GET', '/v1/me/venues', { as: 'org-other' })).json(), { venues: [] });
    assertProblem(await c.request('GET', '/v1/me/venues'), 401, 'UNAUTHENTICATED');
  });

  test('when an organizer creates, renames and lists performers, then only they may rename them', async () => {
    const created = await c.request('POST', '/v1/performers', { as: 'org-v', payload: { name: 'Rosalía' } });
    assert.equal(created.statusCode, 201, created.body);
    const performer = created.json();
    assert.equal(performer.organizer_id, 'org-v');
    assert.equal(performer.name, 'Rosalía');
    const { organizer_id: _organizer, ...publicPerformer } = performer;
    assert.deepEqual((await c.request('GET', `/v1/performers/${performer.performer_id}`)).json(), publicPerformer);
    const renamed = await c.request('PATCH', `/v1/performers/${performer.performer_id}`, {
      as: 'org-v',
      payload: { name: 'Rosalía Vila' },
    });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().name, 'Rosalía Vila');
    assertProblem(
      await c.request('PATCH', `/v1/performers/${performer.performer_id}`, { as: 'org-other', payload: { name: 'x' } }),
      404,
      'PERFORMER_NOT_FOUND',
    );
    assertProblem(
      await c.request('POST', '/v1/performers', { as: 'buyer-1', role: 'customer', payload: { name: 'x' } }),
      403,
      'FORBIDDEN',
    );
    assertProblem(
      await c.request('POST', '/v1/performers', { as: 'org-v', payload: { name: '' } }),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(await c.request('GET', '/v1/performers/not-a-uuid'), 404, 'PERFORMER_NOT_FOUND');
    const mine = (await c.request('GET', '/v1/me/performers', { as: 'org-v' })).json().performers;
    assert.deepEqual(
      mine.map((p: { name: string }) => p.name),
      ['Rosalía Vila'],
    );
  });

  test('when an event names a catalog venue and performers, then it shows them; others’ or repeated ones are 400', async () => {
    const venue = await c.venue('org-e', { name: 'Olympia', city: 'Paris' });
    const first = await c.performer('org-e', 'Édith Tribute Band');
    const second = await c.performer('org-e', 'Les Choristes');
    const eventId = await c.event('org-e', {
      name: 'Chanson Night',
      venue_id: venue.venue_id,
      performer_ids: [second.performer_id, first.performer_id],
    });
    const event = (await getEvent(eventId)).json();
    assert.deepEqual(event.venue, { venue_id: venue.venue_id, name: 'Olympia', city: 'Paris' });
    assert.deepEqual(event.performers, [
      { performer_id: second.performer_id, name: 'Les Choristes' },
      { performer_id: first.performer_id, name: 'Édith Tribute Band' },
    ]);
    assert.equal(event.status, 'published');

    const othersVenue = await c.venue('org-other', { name: 'Elsewhere', city: 'Paris' });
    const othersPerformer = await c.performer('org-other', 'Someone Else');
    // A complete event body but for its venue, which each case supplies (or not).
    const body = (fields: Record<string, unknown>) => ({
      name: 'Refused',
      category: 'concert',
      starts_at: at(30),
      sale_opens_at: at(1),
      max_seats_per_user: 4,
      ...pricedMap([1_000]),
      ...fields,
    });
    for (const [label, fields] of [
      ['both venue and venue_id', { venue: { name: 'a', city: 'b' }, venue_id: venue.venue_id }],
      ['neither venue nor venue_id', {}],
      ['another organizer’s venue', { venue_id: othersVenue.venue_id }],
      ['an unknown venue', { venue_id: '00000000-0000-0000-0000-000000000000' }],
      ['another organizer’s performer', { venue_id: venue.venue_id, performer_ids: [othersPerformer.performer_id] }],
      ['a repeated performer', { venue_id: venue.venue_id, performer_ids: [first.performer_id, first.performer_id] }],
      ['a performer id that is no uuid', { venue_id: venue.venue_id, performer_ids: ['nope'] }],
      ['a draft given as cancelled', { venue_id: venue.venue_id, status: 'cancelled' }],
    ] as const) {
      const response = await c.request('POST', '/v1/events', { as: 'org-e', payload: body(fields) });
      assert.equal(response.statusCode, 400, `${label}: ${response.body}`);
      assert.equal(response.json().code, 'VALIDATION_FAILED', label);
    }
  });

  test('when a venue is renamed or moves city, then its events show and are found by the new name at once', async () => {
    const venue = await c.venue('org-r', { name: 'Blue Note Room', city: 'Chicago' });
    const eventId = await c.event('org-r', { name: 'Late Set', venue_id: venue.venue_id });
    assert.deepEqual(await c.names('q=blue%20note'), ['Late Set']);
    assert.deepEqual(await c.names('city=chicago'), ['Late Set']);
    assert.equal((await getEvent(eventId)).json().venue.name, 'Blue Note Room');

    const patched = await c.request('PATCH', `/v1/venues/${venue.venue_id}`, {
      as: 'org-r',
      payload: { name: 'Green Mill', city: 'Milwaukee' },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(await c.names('q=blue%20note'), [], 'not found by the old name');
    assert.deepEqual(await c.names('city=chicago'), [], 'not found by the old city');
    assert.deepEqual(await c.names('q=green%20mill'), ['Late Set']);
    assert.deepEqual(await c.names('city=milwaukee'), ['Late Set']);
    const listed = (await c.list('q=green%20mill')).events[0]!;
    assert.deepEqual(listed.venue, { venue_id: venue.venue_id, name: 'Green Mill', city: 'Milwaukee' });
    assert.equal((await c.list('q=green%20mill')).events[0]!.event_id, eventId);
  });

  test('when a venue is renamed, then its event’s detail shows the new name and city at once', async () => {
    const venue = await c.venue('org-r', { name: 'Village Vanguard', city: 'New York' });
    const eventId = await c.event('org-r', { name: 'Sunday Matinee', venue_id: venue.venue_id });
    assert.equal((await getEvent(eventId)).json().venue.name, 'Village Vanguard');
    const patched = await c.request('PATCH', `/v1/venues/${venue.venue_id}`, {
      as: 'org-r',
      payload: { name: 'Smalls', city: 'Brooklyn' },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual((await getEvent(eventId)).json().venue, {
      venue_id: venue.venue_id,
      name: 'Smalls',
      city: 'Brooklyn',
    });
  });

  test('when a performer is renamed, then their events are found by the new name at once and not the old', async () => {
    const performer = await c.performer('org-r', 'Prince');
    const eventId = await c.event('org-r', { name: 'Purple Night', performer_ids: [performer.performer_id] });
    assert.deepEqual(await c.names('q=prince'), ['Purple Night'], 'found, and the answer is now cached');
    const suggested = (await c.request('GET', '/v1/search/suggest?q=prince')).json().suggestions;
    assert.ok(suggested.some((s: { name: string }) => s.name === 'Prince'));
    assert.equal((await getEvent(eventId)).json().performers[0].name, 'Prince');

    const renamed = await c.request('PATCH', `/v1/performers/${performer.performer_id}`, {
      as: 'org-r',
      payload: { name: 'The Artist' },
    });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.deepEqual(await c.names('q=prince'), [], 'the cached answer is gone');
    assert.deepEqual(await c.names('q=the%20artist'), ['Purple Night']);
    assert.deepEqual((await c.list('q=the%20artist')).events[0]!.performers, [
      { performer_id: performer.performer_id, name: 'The Artist' },
    ]);
    const after = (await c.request('GET', '/v1/search/suggest?q=prince')).json().suggestions;
    assert.ok(!after.some((s: { name: string }) => s.name === 'Prince'), JSON.stringify(after));
    assert.equal((await c.list('q=the%20artist')).events[0]!.event_id, eventId);
  });

  test('when a performer is renamed, then their event’s detail shows the new name at once', async () => {
    const performer = await c.performer('org-r', 'Ziggy');
    const eventId = await c.event('org-r', { name: 'Spiders Night', performer_ids: [performer.performer_id] });
    assert.equal((await getEvent(eventId)).json().performers[0].name, 'Ziggy');
    const renamed = await c.request('PATCH', `/v1/performers/${performer.performer_id}`, {
      as: 'org-r',
      payload: { name: 'Aladdin Sane' },
    });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.deepEqual((await getEvent(eventId)).json().performers, [
      { performer_id: performer.performer_id, name: 'Aladdin Sane' },
    ]);
  });

  test('when a performer or venue has only draft or cancelled events (or none), then suggestions do not name them', async () => {
    const suggested = async (q: string) =>
      ((await c.request('GET', `/v1/search/suggest?q=${q}`)).json().suggestions as { kind: string; name: string }[])
        .filter((s) => s.kind !== 'event')
        .map((s) => `${s.kind}:${s.name}`)
        .sort();
    const performer = await c.performer('org-s', 'Quasarbeat Collective');
    const venue = await c.venue('org-s', { name: 'Quasarbeat Dome', city: 'Reykjavik' });
    await c.performer('org-s', 'Quasarbeat Unbooked');
    await c.venue('org-s', { name: 'Quasarbeat Empty Hall', city: 'Reykjavik' });
    assert.deepEqual(await suggested('quasarbeat'), [], 'no event at all');
    const draftId = await c.event('org-s', {
      name: 'Unannounced Tour',
      status: 'draft',
      venue_id: venue.venue_id,
      performer_ids: [performer.performer_id],
    });
    assert.deepEqual(await suggested('quasarbeat'), [], 'a draft event does not make them public');

    const published = await c.patchEvent('org-s', draftId, { status: 'published' });
    assert.equal(published.statusCode, 200, published.body);
    assert.deepEqual(await suggested('quasarbeat'), ['performer:Quasarbeat Collective', 'venue:Quasarbeat Dome']);

    const cancelled = await c.patchEvent('org-s', draftId, { status: 'cancelled' });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.deepEqual(await suggested('quasarbeat'), [], 'as the event list: only published events count');
  });

  test('when anyone reads a venue or performer, then the organizer’s id is not in it; the organizer’s own views keep it', async () => {
    const venue = await c.venue('org-private@example.com', { name: 'Mailbox Hall', city: 'Leeds' });
    const performer = await c.performer('org-private@example.com', 'Mailbox Band');
    await c.event('org-private@example.com', {
      name: 'Mailbox Night',
      venue_id: venue.venue_id,
      performer_ids: [performer.performer_id],
    });
    for (const [url, as] of [
      [`/v1/venues/${venue.venue_id}`, undefined],
      [`/v1/venues/${venue.venue_id}`, 'org-private@example.com'],
      [`/v1/performers/${performer.performer_id}`, undefined],
      [`/v1/performers/${performer.performer_id}`, 'org-private@example.com'],
      ['/v1/search/suggest?q=mailbox', undefined],
      ['/v1/events?q=mailbox', undefined],
    ] as const) {
      const response = await c.request('GET', url, { as });
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      assert.doesNotMatch(response.body, /org-private|organizer_id/, url);
    }
    const own = async (url: string) => (await c.request('GET', url, { as: 'org-private@example.com' })).json();
    const owners = (items: { organizer_id: string }[]) => items.map((item) => item.organizer_id);
    assert.deepEqual(owners((await own('/v1/me/venues')).venues), ['org-private@example.com']);
    assert.deepEqual(owners((await own('/v1/me/performers')).performers), ['org-private@example.com']);
  });

  test('when an event is a draft, then only its organizer sees it, and publishing makes it searchable at once', async () => {
    const draft = await c.request('POST', '/v1/events', {
      as: 'org-d',
      payload: {
        ...pricedMap([2_000]),
        name: 'Secret Rehearsal',
        category: 'concert',
        status: 'draft',
        starts_at: at(30),
        sale_opens_at: at(-1),
        max_seats_per_user: 4,
        venue: { name: 'Studio 9', city: 'Oslo' },
      },
    });
    assert.equal(draft.statusCode, 201, draft.body);
    assert.equal(draft.json().status, 'draft');
    const eventId = draft.json().event_id;
    assert.deepEqual(await c.names('q=secret'), [], 'a draft is not found');
    assert.deepEqual(await c.names('city=oslo'), []);
    assert.ok(
      !(await c.request('GET', '/v1/search/suggest?q=secret'))
        .json()
        .suggestions.some((s: { kind: string }) => s.kind === 'event'),
    );
    assertProblem(await getEvent(eventId), 404, 'EVENT_NOT_FOUND');
    assertProblem(await getEvent(eventId, 'org-other'), 404, 'EVENT_NOT_FOUND');
    assertProblem(await hold(eventId), 404, 'EVENT_NOT_FOUND');
    assertProblem(await c.request('GET', `/v1/events/${eventId}/seats`), 404, 'EVENT_NOT_FOUND');
    const own = await getEvent(eventId, 'org-d');
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(own.json().status, 'draft');
    assert.equal(own.headers['cache-control'], 'private, no-store');
    const mine = await c.request('GET', '/v1/me/events', { as: 'org-d' });
    assert.deepEqual(
      mine.json().events.map((e: { event_id: string; status: string }) => [e.event_id, e.status]),
      [[eventId, 'draft']],
    );
    assert.deepEqual((await c.request('GET', '/v1/me/events', { as: 'org-other' })).json().events, []);
    assertProblem(await c.request('GET', '/v1/me/events', { as: 'buyer-1', role: 'customer' }), 403, 'FORBIDDEN');

    const published = await c.patchEvent('org-d', eventId, { status: 'published' });
    assert.equal(published.statusCode, 200, published.body);
    assert.equal(published.json().status, 'published');
    assert.deepEqual(await c.names('q=secret'), ['Secret Rehearsal'], 'searchable at once');
    assert.deepEqual(await c.names('city=oslo'), ['Secret Rehearsal']);
    const open = await getEvent(eventId);
    assert.equal(open.statusCode, 200);
    assert.match(String(open.headers['cache-control']), /^public, max-age=\d+/);
    assert.equal((await hold(eventId)).statusCode, 201);
  });

  test('when an event is cancelled, then holds are refused with 409 and it leaves search; nothing brings it back', async () => {
    const eventId = await c.event('org-d', { name: 'Doomed Matinee', venue: { name: 'Aula', city: 'Bergen' } });
    assert.deepEqual(await c.names('q=doomed'), ['Doomed Matinee']);
    const held = await hold(eventId, ['s1']);
    assert.equal(held.statusCode, 201, held.body);
    const cancelled = await c.patchEvent('org-d', eventId, { status: 'cancelled' });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().status, 'cancelled');
    assertProblem(await hold(eventId), 409, 'EVENT_CANCELLED');
    // A hold made before the cancellation is not paid for, and the answer is kept under its key.
    const charges = t.payments.chargeCount;
    const pay = () =>
      c.request('POST', `/v1/reservations/${held.json().reservation_id}/confirm`, {
        as: 'buyer-1',
        role: 'customer',
        headers: { 'idempotency-key': 'doomed-pay' },
        payload: { payment_method: 'pm_card_visa' },
      });
    const paid = await pay();
    assertProblem(paid, 409, 'EVENT_CANCELLED');
    const replayed = await pay();
    assertProblem(replayed, 409, 'EVENT_CANCELLED');
    assert.equal(replayed.json().replayed, true);
    assert.equal(t.payments.chargeCount, charges, 'nothing charged');
    assert.deepEqual(
      (await c.request('GET', '/v1/me/bookings', { as: 'buyer-1', role: 'customer' }))
        .json()
        .bookings.filter((booking: { event_id: string }) => booking.event_id === eventId),
      [],
    );
    assert.deepEqual(await c.names('q=doomed'), [], 'cancelled events leave search');
    assert.deepEqual(await c.names('city=bergen'), []);
    const shown = await getEvent(eventId);
    assert.equal(shown.statusCode, 200, 'a cancelled event can still be looked up');
    assert.equal(shown.json().status, 'cancelled');
    assert.equal((await c.patchEvent('org-d', eventId, { status: 'cancelled' })).statusCode, 200, 'idempotent');
    const draftId = await c.event('org-d', { name: 'Never Shown', status: 'draft' });
    assert.equal((await c.patchEvent('org-d', draftId, { status: 'cancelled' })).statusCode, 200, 'draft → cancelled');
    assertProblem(await c.patchEvent('org-d', eventId, { status: 'postponed' }), 400, 'VALIDATION_FAILED');
  });

  test('when a status move goes back, then 409 EVENT_STATUS_CONFLICT and the event keeps its status', async () => {
    const published = await c.event('org-d', { name: 'Going Ahead' });
    const cancelled = await c.event('org-d', { name: 'Called Off' });
    assert.equal((await c.patchEvent('org-d', cancelled, { status: 'cancelled' })).statusCode, 200);
    const cancelledDraft = await c.event('org-d', { name: 'Never Was', status: 'draft' });
    assert.equal((await c.patchEvent('org-d', cancelledDraft, { status: 'cancelled' })).statusCode, 200);
    for (const [eventId, status, current] of [
      [published, 'draft', 'published'],
      [cancelled, 'published', 'cancelled'],
      [cancelled, 'draft', 'cancelled'],
      [cancelledDraft, 'published', 'cancelled'],
      [cancelledDraft, 'draft', 'cancelled'],
    ] as const) {
      const response = await c.patchEvent('org-d', eventId, { status });
      assertProblem(response, 409, 'EVENT_STATUS_CONFLICT');
      const shown = await getEvent(eventId, 'org-d');
      assert.equal(shown.json().status, current, `${current} → ${status} is refused`);
    }
    assertProblem(await hold(cancelled), 409, 'EVENT_CANCELLED');
    assert.deepEqual(await c.names('q=called%20off'), []);
  });

  test('when someone else edits an event, then 404 for organizers and 403 for customers', async () => {
    const eventId = await c.event('org-d', { name: 'Mine Alone' });
    assertProblem(await c.patchEvent('org-other', eventId, { name: 'Stolen' }), 404, 'EVENT_NOT_FOUND');
    assertProblem(
      await c.request('PATCH', `/v1/events/${eventId}`, { as: 'buyer-1', role: 'customer', payload: { name: 'x' } }),
      403,
      'FORBIDDEN',
    );
    assertProblem(await c.request('PATCH', `/v1/events/${eventId}`, { payload: { name: 'x' } }), 401);
    assertProblem(await c.patchEvent('org-d', eventId, {}), 400, 'VALIDATION_FAILED');
    assertProblem(
      await c.patchEvent('org-d', '00000000-0000-0000-0000-000000000000', { name: 'x' }),
      404,
      'EVENT_NOT_FOUND',
    );
    assert.equal((await getEvent(eventId)).json().name, 'Mine Alone');
  });

  test('when an event’s fields are edited, then the detail and search show the change at once', async () => {
    const venue = await c.venue('org-f', { name: 'Paradiso', city: 'Amsterdam' });
    const performer = await c.performer('org-f', 'Kraftwerk');
    const eventId = await c.event('org-f', { name: 'Robots', day: 40, venue: { name: 'Melkweg', city: 'Amsterdam' } });
    assert.deepEqual(await c.names('q=robots'), ['Robots']);
    clock.advance(1_000);
    const patched = await c.patchEvent('org-f', eventId, {
      name: 'Man Machine',
      category: 'electronic',
      description: 'Pioneers of the synthesizer',
      starts_at: at(45),
      max_seats_per_user: 2,
      venue_id: venue.venue_id,
      performer_ids: [performer.performer_id],
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const detail = patched.json();
    assert.equal(detail.name, 'Man Machine');
    assert.equal(detail.category, 'electronic');
    assert.equal(detail.description, 'Pioneers of the synthesizer');
    assert.equal(detail.starts_at, at(45));
    assert.equal(detail.max_seats_per_user, 2);
    assert.deepEqual(detail.venue, { venue_id: venue.venue_id, name: 'Paradiso', city: 'Amsterdam' });
    assert.deepEqual(detail.performers, [{ performer_id: performer.performer_id, name: 'Kraftwerk' }]);
    assert.equal(detail.updated_at, new Date(clock.nowMs()).toISOString());
    // Anyone reads the same detail, less the organizer's id (their own answers carry it).
    const { organizer_id: organizerId, ...publicDetail } = detail;
    assert.equal(organizerId, 'org-f');
    assert.deepEqual(await getEvent(eventId).then((r) => r.json()), publicDetail);
    assert.deepEqual(await c.names('q=robots'), []);
    for (const q of ['man%20machine', 'kraftwerk', 'paradiso', 'synthesizer']) {
      assert.deepEqual(await c.names(`q=${q}`), ['Man Machine'], q);
    }
    assert.deepEqual(await c.names('category=electronic'), ['Man Machine']);

    const inline = await c.patchEvent('org-f', eventId, {
      venue: { name: 'Ziggo Dome', city: 'Amsterdam' },
      performer_ids: [],
    });
    assert.equal(inline.statusCode, 200, inline.body);
    assert.deepEqual(inline.json().venue, { venue_id: null, name: 'Ziggo Dome', city: 'Amsterdam' });
    assert.deepEqual(inline.json().performers, []);
    assert.deepEqual(await c.names('q=kraftwerk'), []);
    assertProblem(
      await c.patchEvent('org-f', eventId, { venue: { name: 'a', city: 'b' }, venue_id: venue.venue_id }),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(await c.patchEvent('org-f', eventId, { sale_opens_at: at(46) }), 400, 'VALIDATION_FAILED');
    assertProblem(await c.patchEvent('org-f', eventId, { starts_at: at(-2) }), 400, 'VALIDATION_FAILED');
  });

  test('when the seat map changes before the sale opens, then the new seats show everywhere; after, 409 SEAT_MAP_LOCKED', async () => {
    const saleOpensAtMs = clock.nowMs() + 3_600_000;
    const eventId = await c.event('org-s', {
      name: 'Early Announcement',
      sale_opens_at: new Date(saleOpensAtMs).toISOString(),
      ...pricedMap([4_000], 10),
    });
    const before = await c.request('GET', `/v1/events/${eventId}/availability`);
    assert.equal(before.json().seat_count, 10);
    assert.equal((await c.request('GET', `/v1/events/${eventId}/seats`)).json().seats.length, 10);
    assert.deepEqual(await c.names('q=early&price_min=5000'), []);

    clock.advance(1);
    const changed = await c.patchEvent('org-s', eventId, pricedMap([5_000, 9_000], 12));
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(changed.json().seat_count, 24);
    assert.equal(changed.json().price_from_cents, 5_000);
    assert.equal(changed.json().price_to_cents, 9_000);
    const detail = (await getEvent(eventId)).json();
    assert.equal(detail.seat_count, 24);
    assert.deepEqual(detail.counts, { available: 24, held: 0, booked: 0, blocked: 0 });
    assert.deepEqual(
      detail.sections.map((s: { name: string }) => s.name),
      ['S0', 'S1'],
    );
    const availability = await c.request('GET', `/v1/events/${eventId}/availability`);
    assert.equal(availability.json().seat_count, 24);
    assert.notEqual(availability.headers.etag, before.headers.etag);
    const seats = (await c.request('GET', `/v1/events/${eventId}/seats`)).json().seats;
    assert.equal(seats.length, 24);
    assert.deepEqual([seats[0].price_cents, seats[23].price_cents], [5_000, 9_000]);
    assert.deepEqual(await c.names('q=early&price_min=9000'), ['Early Announcement'], 'prices re-indexed');
    assertProblem(
      await c.patchEvent('org-s', eventId, { seat_map: pricedMap([1]).seat_map }),
      400,
      'VALIDATION_FAILED',
    );
    assertProblem(
      await c.patchEvent('org-s', eventId, { price_tiers: pricedMap([1]).price_tiers }),
      400,
      'VALIDATION_FAILED',
    );
    const invalidMap = await c.patchEvent('org-s', eventId, {
      ...pricedMap([1_000]),
      seat_map: { sections: [{ name: 'A', price_tier: 'gold', rows: [{ label: '1', seats: 1 }] }] },
    });
    assertProblem(invalidMap, 400, 'INVALID_SEAT_MAP');

    clock.set(saleOpensAtMs);
    const late = await c.patchEvent('org-s', eventId, pricedMap([5_000], 30));
    assertProblem(late, 409, 'SEAT_MAP_LOCKED');
    assert.equal((await getEvent(eventId)).json().seat_count, 24, 'unchanged');
    assert.equal((await c.patchEvent('org-s', eventId, { name: 'Announced' })).statusCode, 200, 'other fields still');
  });

  test('when the seat map changes in the same millisecond it was created, then the seat list still shows the new seats', async () => {
    const eventId = await c.event('org-s', {
      name: 'Same Instant',
      sale_opens_at: new Date(clock.nowMs() + 3_600_000).toISOString(),
      ...pricedMap([4_000], 10),
    });
    const before = await c.request('GET', `/v1/events/${eventId}/seats`);
    assert.equal(before.json().seats.length, 10);
    const changed = await c.patchEvent('org-s', eventId, pricedMap([5_000, 9_000], 12));
    assert.equal(changed.statusCode, 200, changed.body);
    const after = await c.request('GET', `/v1/events/${eventId}/seats`);
    assert.equal(after.json().seats.length, 24, 'the seat list is the new map');
    assert.notEqual(after.headers.etag, before.headers.etag, 'a new validator');
    const conditional = await c.request('GET', `/v1/events/${eventId}/seats`, {
      headers: { 'if-none-match': String(before.headers.etag) },
    });
    assert.equal(conditional.statusCode, 200, 'the old map’s ETag no longer matches');
  });

  test('when a seat was ever held, then the seat map is locked even if the sale is moved later', async () => {
    const eventId = await c.event('org-s', { name: 'Held Once', ...pricedMap([4_000], 10) });
    const held = await hold(eventId, ['s3']);
    assert.equal(held.statusCode, 201, held.body);
    const released = await c.request('DELETE', `/v1/reservations/${held.json().reservation_id}`, {
      as: 'buyer-1',
      role: 'customer',
    });
    assert.equal(released.statusCode, 204);
    const postponed = await c.patchEvent('org-s', eventId, {
      sale_opens_at: new Date(clock.nowMs() + dayMs).toISOString(),
    });
    assert.equal(postponed.statusCode, 200, postponed.body);
    assert.equal(postponed.json().on_sale, false);
    assertProblem(await c.patchEvent('org-s', eventId, pricedMap([4_000], 20)), 409, 'SEAT_MAP_LOCKED');
    const detail = (await getEvent(eventId)).json();
    assert.equal(detail.seat_count, 10);
    assert.equal((await c.request('GET', `/v1/events/${eventId}/seats`)).json().seats.length, 10);
  });
});

// ---------------------------------------------------------------------------------------
// Cache validators and the shared answer cache.

describe('catalog caching', () => {
  let t: TestApp;
  let c: CatalogClient;

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(startMs) });
    c = new CatalogClient(t, startMs);
    await c.event('org-c', { name: 'Zeppelin Night', venue: { name: 'Roundhouse', city: 'London' } });
  });
  after(() => t.close());

  const conditional = (url: string, etag: string, as?: string) =>
    c.request('GET', url, { as, headers: { 'if-none-match': etag } });

  test('when the list is asked again with its ETag, then 304 with no body, until the catalog changes', async () => {
    const first = await c.request('GET', '/v1/events?city=london');
    assert.equal(first.statusCode, 200);
    const etag = String(first.headers.etag);
    assert.match(etag, /^W\/"[^"]+"$/);
    assert.match(String(first.headers['cache-control']), /^public, max-age=\d+/);
    const again = await conditional('/v1/events?city=london', etag);
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers.etag, etag);
    assert.equal((await conditional('/v1/events?city=london', `"other", ${etag}`)).statusCode, 304, 'one of a list');
    assert.equal((await conditional('/v1/events?city=london', etag.slice(2))).statusCode, 304, 'weak comparison');
    assert.equal((await conditional('/v1/events?city=london', 'W/"stale"')).statusCode, 200);

    await c.event('org-c', { name: 'Second Show', venue: { name: 'Roundhouse', city: 'London' } });
    const changed = await conditional('/v1/events?city=london', etag);
    assert.equal(changed.statusCode, 200);
    assert.notEqual(changed.headers.etag, etag);
    assert.equal(changed.json().events.length, 2);
  });

  test('when a venue is asked again with its ETag, then 304, and after an edit a new ETag', async () => {
    const venue = await c.venue('org-c', { name: 'Electric Ballroom', city: 'London' });
    const url = `/v1/venues/${venue.venue_id}`;
    const first = await c.request('GET', url);
    const etag = String(first.headers.etag);
    assert.match(String(first.headers['cache-control']), /^public, max-age=\d+/);
    const again = await conditional(url, etag);
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    await c.request('PATCH', url, { as: 'org-c', payload: { capacity: 1_100 } });
    const changed = await conditional(url, etag);
    assert.equal(changed.statusCode, 200);
    assert.equal(changed.json().capacity, 1_100);
    assert.notEqual(changed.headers.etag, etag);
  });

  test('when an event, a performer or suggestions are asked again with their ETag, then 304', async () => {
    const performer = await c.performer('org-c', 'Led Zeppelin');
    const eventId = await c.event('org-c', { name: 'Stairway', performer_ids: [performer.performer_id] });
    for (const url of [
      `/v1/events/${eventId}`,
      `/v1/performers/${performer.performer_id}`,
      '/v1/search/suggest?q=zeppelin',
      '/v1/events?q=zeppelin',
    ]) {
      const first = await c.request('GET', url);
      assert.equal(first.statusCode, 200, url);
      assert.match(String(first.headers['cache-control']), /^public, max-age=\d+/, url);
      const again = await conditional(url, String(first.headers.etag));
      assert.equal(again.statusCode, 304, url);
      assert.equal(again.body, '', url);
    }
    const before = String((await c.request('GET', `/v1/events/${eventId}`)).headers.etag);
    await c.patchEvent('org-c', eventId, { description: 'Now with a description' });
    const after = await conditional(`/v1/events/${eventId}`, before);
    assert.equal(after.statusCode, 200);
    assert.notEqual(after.headers.etag, before);
  });

  test('when a draft is read by its organizer, then it is private and not stored by shared caches', async () => {
    const draftId = await c.event('org-c', { name: 'Hidden', status: 'draft' });
    const own = await c.request('GET', `/v1/events/${draftId}`, { as: 'org-c' });
    assert.equal(own.statusCode, 200);
    assert.equal(own.headers['cache-control'], 'private, no-store');
    const problem = await c.request('GET', `/v1/events/${draftId}`);
    assert.equal(problem.statusCode, 404);
    assert.equal(problem.headers.etag, undefined, 'no validator on a 404');
  });

  test('when a hot answer is cached, then it is served until a catalog change invalidates it', async () => {
    const query = 'q=zeppelin%20night';
    assert.deepEqual(await c.names(query), ['Zeppelin Night']);
    // Behind the service's back: the cached answer keeps the old name; an uncached one does not.
    await t.runtime.db.query(`UPDATE events SET name = 'Renamed Quietly' WHERE name = 'Zeppelin Night'`);
    assert.deepEqual(await c.names(query), ['Zeppelin Night'], 'served from the cache');
    assert.deepEqual(await c.names(`${query}&limit=9`), ['Renamed Quietly'], 'another query is not cached');
    // Every kind of catalog change moves the answer on.
    const otherEvent = await c.event('org-c', { name: 'Bystander' });
    const venue = await c.venue('org-c', { name: 'Any Venue', city: 'Leeds' });
    const performer = await c.performer('org-c', 'Any Performer');
    let current = 'Renamed Quietly';
    for (const [label, change] of [
      ['a venue created', () => c.venue('org-c', { name: 'Another Venue', city: 'Leeds' })],
      [
        'a venue changed',
        () => c.request('PATCH', `/v1/venues/${venue.venue_id}`, { as: 'org-c', payload: { capacity: 5 } }),
      ],
      ['a performer created', () => c.performer('org-c', 'Another Performer')],
      [
        'a performer renamed',
        () =>
          c.request('PATCH', `/v1/performers/${performer.performer_id}`, { as: 'org-c', payload: { name: 'Renamed' } }),
      ],
      ['an event created', () => c.event('org-c', { name: 'Yet Another' })],
      ['an event changed', () => c.patchEvent('org-c', otherEvent, { description: 'changed' })],
    ] as const) {
      assert.deepEqual(await c.names(query), [current], label);
      const next = current === 'Zeppelin Night' ? 'Renamed Quietly' : 'Zeppelin Night';
      await t.runtime.db.query('UPDATE events SET name = $1 WHERE name = $2', [next, current]);
      assert.deepEqual(await c.names(query), [current], `${label}: cached before`);
      await change();
      assert.deepEqual(await c.names(query), [next], `${label}: invalidates`);
      current = next;
    }
  });
});
