// The search scenarios' data and requests: a catalog of many events seeded straight into
// the service's database (set-based SQL, not POST /v1/events), and a seeded mix of
// GET /v1/events and GET /v1/search/suggest requests drawn from the same vocabulary.
//
// Seeding goes through the service's own Database interface (src/adapters/postgres/
// database.ts) after its migrations (src/adapters/postgres/migrate.ts), so it works the
// same on PostgreSQL and on PGlite; the search columns are filled with the expressions of
// refresh_event_search() (migrations/003_catalog.sql), set-based, a batch at a time.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Database } from '../src/adapters/postgres/database.ts';
import { migrate } from '../src/adapters/postgres/migrate.ts';
import { seededRandom } from './fixtures.ts';
import type { LoadRequest } from './load.ts';

// ---------------------------------------------------------------- vocabulary

/** Artists, a few with the accents people leave out when they type. */
const artists = [
  'Taylor Swift',
  'Coldplay',
  'Beyoncé',
  'Ed Sheeran',
  'Metallica',
  'Björk',
  'Mötley Crüe',
  'Sigur Rós',
  'Rosalía',
  'Céline Dion',
  'Michael Bublé',
  'Motörhead',
  'Måneskin',
  'Blue Öyster Cult',
  'Ólafur Arnalds',
  'André Rieu',
  'Plácido Domingo',
  'Stromae',
  'Radiohead',
  'Arctic Monkeys',
  'Daft Punk',
  'Adele',
  'Billie Eilish',
  'Foo Fighters',
  'Red Hot Chili Peppers',
  'Kendrick Lamar',
  'Dua Lipa',
  'Imagine Dragons',
  'The Weeknd',
  'Bruno Mars',
  'Lady Gaga',
  'Pearl Jam',
  'Kings of Leon',
  'Florence and the Machine',
  'Hozier',
  'Mumford & Sons',
  'Nils Frahm',
  'Bad Bunny',
  'Harry Styles',
  'Olivia Rodrigo',
  'Arcade Fire',
  'Depeche Mode',
  'Iron Maiden',
  'Rammstein',
  'Muse',
  'The Rolling Stones',
  'Bruce Springsteen',
  'Elton John',
  'Paul McCartney',
  'Shakira',
  'Karol G',
  'Lana Del Rey',
  'Phoebe Bridgers',
  'Tame Impala',
  'Gorillaz',
  'Massive Attack',
  'The Chemical Brothers',
  'Kraftwerk',
  'Ludovico Einaudi',
  'Andrea Bocelli',
  'Yo-Yo Ma',
  'Lang Lang',
  'Norah Jones',
  'Diana Krall',
  'Snarky Puppy',
  'Khruangbin',
  'Fleetwood Mac Tribute',
  'ABBA Voyage',
];

/**
 * The long tail: 882 made-up acts (solo artists, some accented, and bands), after the
 * famous names above, so a popular name has hundreds of events rather than thousands.
 */
const madeUpActs = (() => {
  const first = ['Clara', 'Jonas', 'Amélie', 'Mateo', 'Sofía', 'Lukas', 'Noémie', 'Emil', 'Zoë', 'Håkon'];
  const more = ['Inès', 'Jasper', 'Léa', 'Mikael', 'Nora', 'Oskar', 'Paula', 'Rafael', 'Saoirse', 'Tomás'];
  const last = ['Lindqvist', 'Ferreira', 'Dubois', 'Novak', 'Okafor', 'Moreau', 'Schäfer', 'Kowalski', 'Nakamura'];
  const lastMore = ['Rossi', 'Jansen', 'Müller', 'García', 'Núñez', 'Ødegaard', 'Sørensen', 'Fontaine', 'Kaya'];
  const lastEven = ['Costa', 'Brennan', 'Varga', 'Horváth', 'Eriksson', 'Lefèvre', 'Mendes', 'Quinn', 'Dvořák'];
  const adjectives = ['Midnight', 'Velvet', 'Electric', 'Silver', 'Golden', 'Neon', 'Wild', 'Quiet', 'Crimson'];
  const adjectivesMore = ['Hollow', 'Paper', 'Northern', 'Lonely', 'Cosmic', 'Frozen', 'Burning', 'Lucky', 'Secret'];
  const nouns = ['Owls', 'Foxes', 'Rivers', 'Lanterns', 'Wolves', 'Harbours', 'Echoes', 'Pilots', 'Gardens', 'Comets'];
  const nounsMore = ['Shadows', 'Saints', 'Tigers', 'Machines', 'Ghosts', 'Sparrows', 'Waves', 'Mirrors', 'Horses'];
  const solo: string[] = [];
  for (const given of [...first, ...more]) {
    for (const family of [...last, ...lastMore, ...lastEven]) solo.push(`${given} ${family}`);
  }
  const bands: string[] = [];
  for (const adjective of [...adjectives, ...adjectivesMore]) {
    for (const noun of [...nouns, ...nounsMore]) bands.push(`The ${adjective} ${noun}`);
  }
  // Shuffled with a fixed seed: the same acts, in the same order, every run.
  const random = seededRandom(1_000);
  const all = [...solo, ...bands];
  for (let index = all.length - 1; index > 0; index -= 1) {
    const other = Math.floor(random() * (index + 1));
    [all[index], all[other]] = [all[other]!, all[index]!];
  }
  return all;
})();

/** Every act, the famous first: the zipf picker makes the first ones the most frequent. */
const acts = [...artists, ...madeUpActs];

const tours = [
  'World Tour',
  'Farewell Tour',
  'Live',
  'Greatest Hits Tour',
  'Anniversary Tour',
  'Stadium Tour',
  'Unplugged',
  'Summer Nights',
  'An Acoustic Evening',
  'Arena Tour',
  'Live in Concert',
  'The Reunion Tour',
];

const teams = [
  'Real Madrid',
  'FC Barcelona',
  'Atlético Madrid',
  'Bayern München',
  'Borussia Dortmund',
  'Manchester United',
  'Manchester City',
  'Liverpool FC',
  'Arsenal',
  'Chelsea',
  'Juventus',
  'AC Milan',
  'Inter Milan',
  'Paris Saint-Germain',
  'Olympique de Marseille',
  'AS Monaco',
  'Ajax',
  'Benfica',
  'FC Porto',
  'Celtic',
  'Galatasaray',
  'Fenerbahçe',
  'Beşiktaş',
  'Malmö FF',
  'Boston Celtics',
  'Los Angeles Lakers',
  'Chicago Bulls',
  'Golden State Warriors',
  'Toronto Maple Leafs',
  'Montréal Canadiens',
  'New York Yankees',
  'Boston Red Sox',
];

const shows: { name: string; category: string }[] = [
  { name: 'Hamilton', category: 'theatre' },
  { name: 'Les Misérables', category: 'theatre' },
  { name: 'The Phantom of the Opera', category: 'theatre' },
  { name: 'The Lion King', category: 'theatre' },
  { name: 'Wicked', category: 'theatre' },
  { name: 'Mamma Mia!', category: 'theatre' },
  { name: 'Moulin Rouge!', category: 'theatre' },
  { name: 'Harry Potter and the Cursed Child', category: 'theatre' },
  { name: 'Le Petit Prince', category: 'theatre' },
  { name: 'Swan Lake', category: 'ballet' },
  { name: 'The Nutcracker', category: 'ballet' },
  { name: 'Giselle', category: 'ballet' },
  { name: 'La Bohème', category: 'opera' },
  { name: 'Carmen', category: 'opera' },
  { name: 'Die Zauberflöte', category: 'opera' },
  { name: 'La Traviata', category: 'opera' },
  { name: 'Don Giovanni', category: 'opera' },
  { name: 'Cirque du Soleil: Alegría', category: 'family' },
  { name: 'Disney on Ice', category: 'family' },
  { name: 'Peppa Pig Live', category: 'family' },
];

const comedians = [
  'Trevor Noah',
  'Ricky Gervais',
  'Dave Chappelle',
  'John Mulaney',
  'Gad Elmaleh',
  'Michael McIntyre',
  'Ali Wong',
  'Jimmy Carr',
];

const festivals = [
  'Roskilde Festival',
  'Primavera Sound',
  'Glastonbury',
  'Sónar',
  'Rock am Ring',
  'Øya Festival',
  'Flow Festival',
  'Montreux Jazz Festival',
  'Lollapalooza',
  'Iceland Airwaves',
];

/** City, currency. */
const cities: [string, string][] = [
  ['London', 'GBP'],
  ['Manchester', 'GBP'],
  ['Paris', 'EUR'],
  ['Lyon', 'EUR'],
  ['Berlin', 'EUR'],
  ['Hamburg', 'EUR'],
  ['München', 'EUR'],
  ['Köln', 'EUR'],
  ['Düsseldorf', 'EUR'],
  ['Madrid', 'EUR'],
  ['Barcelona', 'EUR'],
  ['Lisbon', 'EUR'],
  ['Dublin', 'EUR'],
  ['Amsterdam', 'EUR'],
  ['Brussels', 'EUR'],
  ['Vienna', 'EUR'],
  ['Prague', 'CZK'],
  ['Warsaw', 'PLN'],
  ['Kraków', 'PLN'],
  ['Budapest', 'HUF'],
  ['Zürich', 'CHF'],
  ['Genève', 'CHF'],
  ['Stockholm', 'SEK'],
  ['Göteborg', 'SEK'],
  ['Malmö', 'SEK'],
  ['Oslo', 'NOK'],
  ['Copenhagen', 'DKK'],
  ['Helsinki', 'EUR'],
  ['Reykjavík', 'ISK'],
  ['Milan', 'EUR'],
  ['Rome', 'EUR'],
  ['Athens', 'EUR'],
  ['Istanbul', 'TRY'],
  ['New York', 'USD'],
  ['Chicago', 'USD'],
  ['Los Angeles', 'USD'],
  ['San Francisco', 'USD'],
  ['Toronto', 'CAD'],
  ['Montréal', 'CAD'],
  ['Mexico City', 'MXN'],
  ['São Paulo', 'BRL'],
  ['Buenos Aires', 'ARS'],
  ['Bogotá', 'COP'],
  ['Sydney', 'AUD'],
  ['Melbourne', 'AUD'],
  ['Tokyo', 'JPY'],
  ['Seoul', 'KRW'],
];

const venuePrefixes = [
  'Royal',
  'National',
  'Olympic',
  'Grand',
  'Central',
  'Harbour',
  'Riverside',
  'Crystal',
  'Victoria',
  'Phoenix',
  'Union',
  'Empire',
  'Liberty',
  'Aurora',
  'Meridian',
  'Palais',
];
const venueTypes = [
  'Arena',
  'Stadium',
  'Concert Hall',
  'Opera House',
  'Theatre',
  'Philharmonie',
  'Forum',
  'Palladium',
  'Amphitheatre',
  'Dome',
  'Pavilion',
  'Music Hall',
];

const descriptions = [
  'An unforgettable night of live music. Doors open one hour before the show.',
  'All ages welcome. Seated and standing tickets available.',
  'Outdoor show: the event goes ahead rain or shine.',
  'Family friendly afternoon performance with an interval.',
  'Limited capacity; bags larger than A4 are not allowed.',
  'Premium seating includes early entry and a souvenir programme.',
  '',
];

const stopWords = new Set(['the', 'of', 'and', 'on', 'du', 'de', 'la', 'le', 'am', 'fc', 'ac', 'as', 'an', 'in', '&']);

/** "Beyoncé" -> "beyonce", like the database's catalog_fold (lower case, accents off). */
export const fold = (text: string) =>
  text
    .toLowerCase()
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .replace(/ø/g, 'o')
    .replace(/ı/g, 'i');

/** The words of a name someone might type: letters only, no stop words. */
const wordsOf = (name: string) =>
  name.split(/[^\p{L}\p{N}]+/u).filter((word) => word.length >= 2 && !stopWords.has(word.toLowerCase()));

/** Index in [0, n) with probability ∝ 1 / (rank + 1)^skew: a few popular names, a long tail. */
function zipfPicker(n: number, random: () => number, skew = 0.8): () => number {
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 0; rank < n; rank += 1) cumulative.push((total += 1 / (rank + 1) ** skew));
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle]! < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
}

/** How steeply popularity falls (events per act, team, city; and searches per name). */
const actSkew = 0.6;
const teamSkew = 0.4;
const citySkew = 0.5;
const venuesPerCity = 5;

const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length)]!;

// ---------------------------------------------------------------- seeding

export interface SeedOptions {
  events: number;
  seatsPerEvent: number;
  /** Events start between 30 days before and 730 days after this instant. */
  baseMs: number;
  seed: number;
  batchSize?: number;
  log?: (message: string) => void;
  /** Checked between batches: true stops the seeding (it throws). */
  shouldAbort?: () => boolean;
}

export interface SeedStats {
  events: number;
  seats: number;
  venues: number;
  performers: number;
  event_performers: number;
  published: number;
  /** Wall time of each step, seconds. */
  seconds: {
    migrate: number;
    venues_performers: number;
    events: number;
    seats: number;
    event_performers: number;
    search_check: number;
    vacuum_analyze: number;
    total: number;
  };
  /**
   * A sample of events whose search columns were compared with what refresh_event_search()
   * makes of them (it is run on them): how many, and how many differed (must be 0).
   */
  search_check: { sampled: number; mismatched: number };
  /** Rows per second over the whole seeding (events). */
  events_per_s: number;
  /** pg_total_relation_size of events and seats after seeding, MB. */
  events_mb: number | null;
  seats_mb: number | null;
}

interface Venue {
  id: string;
  organizer: string;
  name: string;
  city: string;
  currency: string;
}

/**
 * Migrates the database (the service's own migrations) and fills it with `events` events
 * of every kind, their venues, performers and seats, then their search columns, then
 * VACUUM ANALYZE (as autovacuum would have done on a live catalog).
 */
export async function seedCatalog(db: Database, options: SeedOptions): Promise<SeedStats> {
  const log = options.log ?? (() => {});
  const batchSize = options.batchSize ?? 5_000;
  const random = seededRandom(options.seed);
  const started = performance.now();
  const lap = (() => {
    let last = started;
    return () => {
      const now = performance.now();
      const seconds = (now - last) / 1000;
      last = now;
      return Math.round(seconds * 1000) / 1000;
    };
  })();

  await migrate(db);
  const migrateS = lap();

  const organizers = Array.from({ length: 20 }, (_, index) => `bench-organizer-${index + 1}`);
  const createdAt = new Date(options.baseMs - 90 * 86_400_000);

  // Venues: each city's own arena, and four more of the usual names.
  const venues: Venue[] = [];
  for (const [city, currency] of cities) {
    const names = new Set([`${city} Arena`]);
    while (names.size < venuesPerCity) names.add(`${pick(venuePrefixes, random)} ${pick(venueTypes, random)}`);
    for (const name of names)
      venues.push({ id: randomUUID(), organizer: pick(organizers, random), name, city, currency });
  }
  await db.query(
    `INSERT INTO venues (id, organizer_id, name, city, capacity, created_at, updated_at)
     SELECT v.id, v.organizer, v.name, v.city, 1000 + (abs(hashtext(v.name)) % 50) * 1000, $5, $5
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS v(id, organizer, name, city)`,
    [
      venues.map((v) => v.id),
      venues.map((v) => v.organizer),
      venues.map((v) => v.name),
      venues.map((v) => v.city),
      createdAt,
    ],
  );
  const performerNames = [...acts, ...teams, ...comedians];
  const performerIds = new Map(performerNames.map((name) => [name, randomUUID()]));
  await db.query(
    `INSERT INTO performers (id, organizer_id, name, created_at, updated_at)
     SELECT p.id, $3, p.name, $4, $4 FROM unnest($1::uuid[], $2::text[]) AS p(id, name)`,
    [[...performerIds.values()], [...performerIds.keys()], organizers[0], createdAt],
  );
  const venuesPerformersS = lap();

  const nextArtist = zipfPicker(acts.length, random, actSkew);
  const nextTeam = zipfPicker(teams.length, random, teamSkew);
  // A city (big markets more often), then one of its five venues.
  const nextCity = zipfPicker(cities.length, random, citySkew);
  const venueOf = () => venues[nextCity() * venuesPerCity + Math.floor(random() * venuesPerCity)]!;
  let eventsS = 0;
  let seatsS = 0;
  let eventPerformersS = 0;
  let published = 0;
  let links = 0;
  /** One event id in 500, for the search column check. */
  const sampleIds: string[] = [];
  for (let first = 0; first < options.events; first += batchSize) {
    if (options.shouldAbort?.()) throw new Error('interrupted while seeding');
    const count = Math.min(batchSize, options.events - first);
    const rows = {
      id: [] as string[],
      organizer: [] as string[],
      name: [] as string[],
      category: [] as string[],
      startsAt: [] as Date[],
      saleOpensAt: [] as Date[],
      venueId: [] as string[],
      venueName: [] as string[],
      venueCity: [] as string[],
      currency: [] as string[],
      status: [] as string[],
      description: [] as string[],
      priceStd: [] as number[],
      priceVip: [] as number[],
      /** The performers' names in order, space-separated; null without performers. */
      names: [] as (string | null)[],
    };
    const link = { event: [] as string[], performer: [] as string[], position: [] as number[] };
    for (let index = 0; index < count; index += 1) {
      const id = randomUUID();
      if ((first + index) % 500 === 0) sampleIds.push(id);
      const venue = venueOf();
      const kind = random();
      let name: string;
      let category: string;
      let lineup: string[] = [];
      if (kind < 0.55) {
        const artist = acts[nextArtist()]!;
        name = `${artist} – ${pick(tours, random)}`;
        category = 'concert';
        lineup = [artist];
        if (random() < 0.4) {
          const support = acts[nextArtist()]!;
          if (support !== artist) lineup.push(support);
        }
      } else if (kind < 0.7) {
        const home = teams[nextTeam()]!;
        let away = teams[nextTeam()]!;
        while (away === home) away = pick(teams, random);
        name = `${home} vs ${away}`;
        category = 'sports';
        lineup = [home, away];
      } else if (kind < 0.85) {
        const show = pick(shows, random);
        name = show.name;
        category = show.category;
      } else if (kind < 0.93) {
        const comedian = pick(comedians, random);
        name = `${comedian}: ${pick(['Live', 'Stand-Up Tour', 'New Material', 'Work in Progress'], random)}`;
        category = 'comedy';
        lineup = [comedian];
      } else {
        name = `${pick(festivals, random)} ${2027 + Math.floor(random() * 2)}`;
        category = 'festival';
        const lineupSet = new Set<string>();
        const size = 3 + Math.floor(random() * 3);
        while (lineupSet.size < size) lineupSet.add(acts[nextArtist()]!);
        lineup = [...lineupSet];
      }
      const startsAtMs = options.baseMs + Math.floor((random() * 760 - 30) * 86_400_000);
      const roll = random();
      const status = roll < 0.95 ? 'published' : roll < 0.98 ? 'cancelled' : 'draft';
      if (status === 'published') published += 1;
      const std = 1_500 + Math.floor(random() * 120) * 100;
      rows.id.push(id);
      rows.organizer.push(venue.organizer);
      rows.name.push(name);
      rows.category.push(category);
      rows.startsAt.push(new Date(startsAtMs));
      rows.saleOpensAt.push(new Date(startsAtMs - 60 * 86_400_000));
      rows.venueId.push(venue.id);
      rows.venueName.push(venue.name);
      rows.venueCity.push(venue.city);
      rows.currency.push(venue.currency);
      rows.status.push(status);
      rows.description.push(pick(descriptions, random));
      rows.priceStd.push(std);
      rows.priceVip.push(std * (2 + Math.floor(random() * 3)));
      rows.names.push(lineup.length > 0 ? lineup.join(' ') : null);
      lineup.forEach((performer, position) => {
        link.event.push(id);
        link.performer.push(performerIds.get(performer)!);
        link.position.push(position + 1);
      });
    }
    // The event rows: a standard and a VIP tier, one section of each (as POST /v1/events stores
    // them), and their search columns computed with refresh_event_search()'s expressions, its
    // string_agg of the performers' names being r.names (NULL when there are none, as there).
    let t = performance.now();
    await db.query(
      `INSERT INTO events (id, organizer_id, name, category, starts_at, venue_name, venue_city, sale_opens_at,
                           max_seats_per_user, currency, price_tiers, sections, seat_count, created_at, status,
                           description, venue_id, price_min_cents, price_max_cents, updated_at, search_doc)
       SELECT r.id, r.organizer, r.name, r.category, r.starts_at, r.venue_name, r.venue_city, r.sale_opens_at,
              8, r.currency,
              jsonb_build_array(
                jsonb_build_object('id', 'std', 'name', 'Standard', 'price_cents', r.price_std, 'currency', r.currency),
                jsonb_build_object('id', 'vip', 'name', 'VIP', 'price_cents', r.price_vip, 'currency', r.currency)),
              jsonb_build_array(
                jsonb_build_object('name', 'Floor', 'price_tier', 'std',
                                   'rows', jsonb_build_array(jsonb_build_object('label', 'A', 'seats', $16::int - 2))),
                jsonb_build_object('name', 'Box', 'price_tier', 'vip',
                                   'rows', jsonb_build_array(jsonb_build_object('label', 'V', 'seats', 2)))),
              $16::int, $17::timestamptz, r.status, r.description, r.venue_id, r.price_std, r.price_vip,
              $17::timestamptz,
              setweight(to_tsvector('simple', catalog_fold(r.name || ' ' || coalesce(r.names, ''))), 'A')
                || setweight(to_tsvector('simple', catalog_fold(r.venue_name || ' ' || r.venue_city)), 'B')
                || setweight(to_tsvector('simple', catalog_fold(r.category || ' ' || r.description)), 'C')
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
                   $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::uuid[], $13::bigint[], $14::bigint[],
                   $15::text[])
            AS r(id, organizer, name, category, starts_at, venue_name, venue_city, sale_opens_at, currency, status,
                 description, venue_id, price_std, price_vip, names)`,
      [
        rows.id,
        rows.organizer,
        rows.name,
        rows.category,
        rows.startsAt,
        rows.venueName,
        rows.venueCity,
        rows.saleOpensAt,
        rows.currency,
        rows.status,
        rows.description,
        rows.venueId,
        rows.priceStd,
        rows.priceVip,
        rows.names,
        options.seatsPerEvent,
        createdAt,
      ],
    );
    eventsS += performance.now() - t;
    // Their seats, one statement for the batch: Floor row A (std), then Box row V (2 vip seats).
    t = performance.now();
    await db.query(
      `INSERT INTO seats (event_id, seat_no, section, row_label, number, price_tier, price_cents)
       SELECT e.id, g.n,
              CASE WHEN g.n < $2 - 2 THEN 'Floor' ELSE 'Box' END,
              CASE WHEN g.n < $2 - 2 THEN 'A' ELSE 'V' END,
              CASE WHEN g.n < $2 - 2 THEN g.n + 1 ELSE g.n - ($2 - 2) + 1 END,
              CASE WHEN g.n < $2 - 2 THEN 'std' ELSE 'vip' END,
              CASE WHEN g.n < $2 - 2 THEN e.price_min_cents ELSE e.price_max_cents END
       FROM events e CROSS JOIN generate_series(0, $2 - 1) AS g(n)
       WHERE e.id = ANY($1::uuid[])`,
      [rows.id, options.seatsPerEvent],
    );
    seatsS += performance.now() - t;
    t = performance.now();
    if (link.event.length > 0) {
      await db.query(
        `INSERT INTO event_performers (event_id, performer_id, position)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[])`,
        [link.event, link.performer, link.position],
      );
    }
    links += link.event.length;
    eventPerformersS += performance.now() - t;
    if ((first / batchSize) % 5 === 4 || first + count >= options.events) {
      log(`    seeded ${(first + count).toLocaleString('en-US')} of ${options.events.toLocaleString('en-US')} events`);
    }
  }
  lap();

  // The search columns must be what the service would have made of these rows.
  const sample = sampleIds.slice(0, 200);
  const read = async () =>
    (
      await db.query<{ id: string; doc: string }>(
        `SELECT id, search_doc::text AS doc FROM events WHERE id = ANY($1::uuid[]) ORDER BY id`,
        [sample],
      )
    ).rows.map((row) => `${row.id} ${row.doc}`);
  const seeded = await read();
  await db.query('SELECT refresh_event_search(id) FROM unnest($1::uuid[]) AS s(id)', [sample]);
  const refreshed = await read();
  const mismatched = seeded.filter((row, index) => row !== refreshed[index]).length;
  const checkS = lap();

  // The typo dictionary, as refresh_event_search() fills it (migrations/004_search_words.sql).
  await db.query(
    `INSERT INTO search_words (word) SELECT DISTINCT word FROM events, unnest(tsvector_to_array(search_doc)) AS word
     ON CONFLICT DO NOTHING`,
  );
  await db.query('VACUUM ANALYZE venues, performers, events, seats, event_performers, search_words');
  const vacuumS = lap();

  let eventsMb: number | null = null;
  let seatsMb: number | null = null;
  try {
    const { rows } = await db.query<{ events: number; seats: number }>(
      `SELECT pg_total_relation_size('events')::float8 / 1048576 AS events,
              pg_total_relation_size('seats')::float8 / 1048576 AS seats`,
    );
    eventsMb = Math.round(rows[0]!.events * 10) / 10;
    seatsMb = Math.round(rows[0]!.seats * 10) / 10;
  } catch {
    // sizes are informative only
  }
  const totalS = (performance.now() - started) / 1000;
  const s = (ms: number) => Math.round(ms) / 1000;
  return {
    events: options.events,
    seats: options.events * options.seatsPerEvent,
    venues: venues.length,
    performers: performerIds.size,
    event_performers: links,
    published,
    search_check: { sampled: sample.length, mismatched },
    seconds: {
      migrate: migrateS,
      venues_performers: venuesPerformersS,
      events: s(eventsS),
      seats: s(seatsS),
      event_performers: s(eventPerformersS),
      search_check: checkS,
      vacuum_analyze: vacuumS,
      total: Math.round(totalS * 1000) / 1000,
    },
    events_per_s: Math.round(options.events / totalS),
    events_mb: eventsMb,
    seats_mb: seatsMb,
  };
}

// ---------------------------------------------------------------- the request mix

export const searchKinds = [
  'word',
  'two-words',
  'prefix',
  'typo',
  'unaccented',
  'city',
  'dates',
  'available',
  'sort-date',
  'suggest',
] as const;
export type SearchKind = (typeof searchKinds)[number];

/** The share of each kind in the mix (sums to 1). */
export const searchMix: Record<SearchKind, number> = {
  word: 0.14,
  'two-words': 0.1,
  prefix: 0.1,
  typo: 0.1,
  unaccented: 0.1,
  city: 0.1,
  dates: 0.08,
  available: 0.08,
  'sort-date': 0.05,
  suggest: 0.15,
};

/** What each kind sends, for the report. */
export const searchKindDescriptions: Record<SearchKind, string> = {
  word: 'q = one word of an artist, team, show, festival, city or venue name ("swift", "madrid", "arena")',
  'two-words': 'q = two words: two of one name ("taylor swift"), or a name word and a city ("coldplay berlin")',
  prefix: 'q = the first 3 or 4 letters of a word ("cold", "nutc")',
  typo: 'q = a word of 5+ letters with one letter (not the first) changed ("metallixa")',
  unaccented: 'q = an accented name typed without its accents ("beyonce", "bjork", "motley crue", "zurich")',
  city: 'q = one word, plus city = one of the 47 cities',
  dates: 'q = one word, plus from / to: a 90-day window within the seeded dates',
  available: 'q = one word, plus available=true',
  'sort-date': 'q = one word, plus sort=date (soonest first)',
  suggest: 'GET /v1/search/suggest, q = the first 2–8 letters of a name ("bey", "real ma")',
};

/** What people search for, by what it names: a share of the searches, and the names (most popular first). */
const searchedNames: [number, string[], number][] = [
  [0.5, acts, actSkew],
  [0.14, teams, teamSkew],
  [0.1, shows.map((show) => show.name), 0.8],
  [0.05, comedians, 0.8],
  [0.05, festivals, 0.8],
  [0.12, cities.map(([city]) => city), citySkew],
  [0.04, [...venueTypes, ...venuePrefixes.map((prefix) => `${prefix} Arena`)], 0.8],
];

interface Vocabulary {
  name: () => string;
  /** Accented names typed without their accents ("motley crue"). */
  accented: string[];
  cities: string[];
}

function vocabulary(random: () => number): Vocabulary {
  const groups = searchedNames.map(([share, names, skew]) => ({
    share,
    names,
    next: zipfPicker(names.length, random, skew),
  }));
  const name = () => {
    let roll = random();
    for (const group of groups) {
      if (roll < group.share) return group.names[group.next()]!;
      roll -= group.share;
    }
    const last = groups[groups.length - 1]!;
    return last.names[last.next()]!;
  };
  const accented = [...artists, ...teams, ...shows.map((show) => show.name), ...festivals, ...cities.map(([c]) => c)]
    .filter((candidate) => fold(candidate) !== candidate.toLowerCase())
    .map(fold);
  return { name, accented, cities: cities.map(([city]) => city) };
}

export interface SearchRequest extends LoadRequest {
  kind: SearchKind;
}

/**
 * Request i of the mix, drawn from a seeded generator: the same seed gives the same
 * sequence of requests on every run and every backend. `baseMs` is the seeding's base date.
 */
export function searchRequests(seed: number, baseMs: number): (index: number) => SearchRequest {
  const random = seededRandom(seed);
  const vocab = vocabulary(random);
  const kinds = Object.entries(searchMix) as [SearchKind, number][];
  const name = vocab.name;
  const word = (minLength = 3) => {
    for (;;) {
      const words = wordsOf(name()).filter((candidate) => candidate.length >= minLength);
      if (words.length > 0) return pick(words, random);
    }
  };
  // People type in lower case more often than not, and accents half the time.
  const typed = (text: string) => (random() < 0.6 ? text.toLowerCase() : text);
  const events = (params: Record<string, string>): LoadRequest => ({
    method: 'GET',
    path: `/v1/events?${new URLSearchParams(params).toString()}`,
    headers: {},
  });
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const build: Record<SearchKind, () => LoadRequest> = {
    word: () => events({ q: typed(word()) }),
    'two-words': () => {
      const words = wordsOf(name());
      if (words.length >= 2 && random() < 0.6) {
        const start = Math.floor(random() * (words.length - 1));
        return events({ q: typed(`${words[start]} ${words[start + 1]}`) });
      }
      return events({ q: typed(`${word()} ${pick(vocab.cities, random)}`) });
    },
    prefix: () => {
      const full = fold(word(5));
      return events({ q: full.slice(0, random() < 0.5 ? 3 : 4) });
    },
    typo: () => {
      const full = fold(word(5));
      const at = 1 + Math.floor(random() * (full.length - 1));
      let replacement = pick([...letters], random);
      while (replacement === full[at]) replacement = pick([...letters], random);
      return events({ q: full.slice(0, at) + replacement + full.slice(at + 1) });
    },
    unaccented: () => events({ q: pick(vocab.accented, random) }),
    city: () => events({ q: typed(word()), city: pick(vocab.cities, random) }),
    dates: () => {
      const fromMs = baseMs + Math.floor(random() * 640) * 86_400_000;
      return events({
        q: typed(word()),
        from: new Date(fromMs).toISOString(),
        to: new Date(fromMs + 90 * 86_400_000).toISOString(),
      });
    },
    available: () => events({ q: typed(word()), available: 'true' }),
    'sort-date': () => events({ q: typed(word()), sort: 'date' }),
    suggest: () => {
      const full = name();
      const length = Math.min(full.length, 2 + Math.floor(random() * 7));
      return {
        method: 'GET',
        path: `/v1/search/suggest?${new URLSearchParams({ q: typed(full.slice(0, length)) }).toString()}`,
        headers: {},
      };
    },
  };
  return () => {
    let roll = random();
    let kind: SearchKind = kinds[kinds.length - 1]![0];
    for (const [candidate, share] of kinds) {
      if (roll < share) {
        kind = candidate;
        break;
      }
      roll -= share;
    }
    return { ...build[kind](), kind };
  };
}

/** How many results an answer holds: events of GET /v1/events, suggestions of the suggest route. */
export function resultCount(body: string): number | null {
  try {
    const parsed = JSON.parse(body) as { events?: unknown[]; suggestions?: unknown[] };
    const list = parsed.events ?? parsed.suggestions;
    return Array.isArray(list) ? list.length : null;
  } catch {
    return null;
  }
}
