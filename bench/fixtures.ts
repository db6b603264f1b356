// Request bodies, tokens and a seeded random source for the benchmark scenarios.
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';

const dayMs = 24 * 3600 * 1000;

export interface SeatMapShape {
  sections: number;
  rowsPerSection: number;
  seatsPerRow: number;
}

export const seatCountOf = (shape: SeatMapShape) => shape.sections * shape.rowsPerSection * shape.seatsPerRow;

const tiers = [
  { id: 'front', name: 'Front', price_cents: 12000, currency: 'USD' },
  { id: 'middle', name: 'Middle', price_cents: 8000, currency: 'USD' },
  { id: 'back', name: 'Back', price_cents: 4500, currency: 'USD' },
];

/** The price tier of an eventBody section (from 0): front, middle, back, front, … */
export const priceTierOfSection = (sectionIndex: number) => tiers[sectionIndex % tiers.length]!.id;

/** A valid POST /v1/events body whose seat map has the given shape; on sale since a minute ago. */
export function eventBody(shape: SeatMapShape, options: { name: string; maxSeatsPerUser: number }) {
  const nowMs = Date.now();
  const rows = Array.from({ length: shape.rowsPerSection }, (_, index) => ({
    label: String(index + 1),
    seats: shape.seatsPerRow,
  }));
  return {
    name: options.name,
    category: 'concert',
    starts_at: new Date(nowMs + 30 * dayMs).toISOString(),
    venue: { name: 'Bench Arena', city: 'Loadtown' },
    sale_opens_at: new Date(nowMs - 60_000).toISOString(),
    max_seats_per_user: options.maxSeatsPerUser,
    price_tiers: tiers,
    seat_map: {
      sections: Array.from({ length: shape.sections }, (_, index) => ({
        name: `S${String(index + 1).padStart(3, '0')}`,
        price_tier: priceTierOfSection(index),
        rows,
      })),
    },
  };
}

/** An HS256 token the server accepts when it runs with AUTH_SECRET = secret. */
export function mintToken(secret: string, userId: string, role: 'customer' | 'organizer'): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('6h')
    .sign(new TextEncoder().encode(secret));
}

/**
 * The same token as mintToken, signed synchronously with node:crypto: a flash sale of
 * 500,000 buyers mints one per buyer while the load runs, and jose's async signing costs
 * the load generator several times more CPU per token.
 */
export function mintTokenSync(secret: string, userId: string, role: 'customer' | 'organizer'): string {
  const nowS = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256' })}.${encode({ role, sub: userId, iat: nowS, exp: nowS + 6 * 3600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** Tokens for users `${prefix}-0` … `${prefix}-(count-1)`. */
export async function mintUserTokens(secret: string, prefix: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let index = 0; index < count; index += 1) tokens.push(await mintToken(secret, `${prefix}-${index}`, 'customer'));
  return tokens;
}

/** mulberry32: a small seeded generator so contended runs pick the same seats every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const seatId = (seatNo: number) => `s${seatNo}`;
