// The process's short-lived copy of an event (adapters/cache/event-cache.ts): one read of
// the row per event at a time, and an edit is never overwritten by a read that started
// before it. Edits through the store drop the copy themselves.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CachedEventStore } from '../../src/adapters/cache/event-cache.ts';
import { PostgresEventStore } from '../../src/adapters/postgres/event-store.ts';
import type { Database } from '../../src/adapters/postgres/database.ts';
import { createEvent, startTestApp, testDb, type TestApp } from '../support/harness.ts';

/** The app's database, counting the reads of the events table. */
function countingEventReads(db: Database) {
  const counter = { reads: 0 };
  const counted: Database = Object.create(db) as Database;
  counted.query = ((text: string, params?: unknown[]) => {
    if (/FROM events e WHERE e\.id = \$1/.test(text)) counter.reads += 1;
    return db.query(text, params as never);
  }) as Database['query'];
  return { db: counted, counter };
}

const cachedEvents = (db: Database, catalogChanged = async () => {}) =>
  new CachedEventStore(new PostgresEventStore(db), { ttlMs: 60_000, entriesMax: 10_000, catalogChanged });

describe(`event cache on ${testDb}`, () => {
  let t: TestApp;
  let eventId: string;

  before(async () => {
    t = await startTestApp();
    eventId = await createEvent(t);
  });
  after(() => t.close());

  test('when 50 requests want an event whose copy ran out, then the row is read once and all get it', async () => {
    const { db, counter } = countingEventReads(t.runtime.db);
    const store = cachedEvents(db);
    const events = await Promise.all(Array.from({ length: 50 }, () => store.findEvent(eventId)));
    assert.equal(counter.reads, 1);
    assert.ok(events.every((event) => event?.id === eventId));
    assert.equal((await store.findEvent(eventId))?.id, eventId);
    assert.equal(counter.reads, 1, 'then served from the copy');

    const missing = '00000000-0000-4000-8000-000000000000';
    assert.deepEqual(await Promise.all([store.findEvent(missing), store.findEvent(missing)]), [null, null]);
    assert.equal(counter.reads, 2, 'one read for both callers of a missing event, and nothing kept');
  });

  test('when the id comes spelled in capitals, then every spelling shares one copy and one read, and an edit forgets them all', async () => {
    const { db, counter } = countingEventReads(t.runtime.db);
    const store = cachedEvents(db);
    const spellings = [
      eventId,
      eventId.toUpperCase(),
      eventId.replace(/[a-f]/g, (letter, at) => (at % 2 ? letter.toUpperCase() : letter)),
    ];
    const events = await Promise.all(
      spellings.flatMap((spelling) => [store.findEvent(spelling), store.findEvent(spelling)]),
    );
    assert.ok(
      events.every((event) => event?.id === eventId),
      'the event under its own id',
    );
    for (const spelling of spellings) await store.findEvent(spelling);
    assert.equal(counter.reads, 1, 'one read, one copy');
    store.forget([eventId.toUpperCase()]);
    await store.findEvent(eventId);
    assert.equal(counter.reads, 2, 'forgotten under any spelling');
  });

  test('when the event is forgotten while a read is under way, then that read is not kept and the next one reads again', async () => {
    const { db, counter } = countingEventReads(t.runtime.db);
    const store = cachedEvents(db);
    const early = store.findEvent(eventId);
    store.forget([eventId]); // an edit committed after the read began
    const late = store.findEvent(eventId);
    assert.equal((await early)?.id, eventId);
    assert.equal((await late)?.id, eventId);
    assert.equal(counter.reads, 2, 'the caller after the edit did not join the read from before it');
    await store.findEvent(eventId);
    assert.equal(counter.reads, 2, 'the read that began after the edit is the one kept');
  });

  test('when the event is edited through the store, then the next read sees the edit and the catalog answers are dropped, without anyone remembering to', async () => {
    const { db, counter } = countingEventReads(t.runtime.db);
    let invalidations = 0;
    const store = cachedEvents(db, async () => {
      invalidations += 1;
    });
    const before = await store.findEvent(eventId);
    const updated = await store.updateEvent(eventId, { name: `${before!.name} (moved)` }, Date.now());
    assert.equal(updated.kind, 'updated');
    assert.equal((await store.findEvent(eventId))?.name, `${before!.name} (moved)`);
    assert.equal(counter.reads, 2, 'read again after the edit, once');
    assert.equal(invalidations, 1, 'the cached catalog answers are stale after the edit');
    const refused = await store.updateEvent(eventId, { status: { to: 'published', from: ['draft'] } }, Date.now());
    assert.equal(refused.kind, 'status_conflict');
    assert.equal(invalidations, 1, 'a refused edit changes nothing, and drops nothing');
  });
});
