// The POST /v1/events body the builder writes, and the server's limits the form stays inside.
import type { RefundPolicy, Section, Tier } from '../../api.ts';

export interface CreateEventBody {
  name: string;
  category: string;
  description?: string;
  status: 'draft' | 'published';
  starts_at: string;
  sale_opens_at: string;
  venue: { name: string; city: string };
  max_seats_per_user: number;
  price_tiers: Tier[];
  seat_map: { sections: Section[] };
  waiting_room?: { enabled: boolean; admit_per_minute: number };
  refund_policy?: RefundPolicy | null;
}

/** The control each field path of the body came from ("/venue/city" -> its input): where its error goes. */
export type FieldTargets = Map<string, HTMLElement>;

// The server's default limits (src/config.ts); the generator stays inside them, the server still judges.
export const rowsPerSectionMax = 1_000;
export const seatsPerRowMax = 5_000;
