// An event's sales as the `stats` consumer of the fact bus keeps them (bookings, seats,
// money by price tier, bookings per minute, refunds), and its attendees as the bookings
// say. Times are epoch milliseconds; money in the event's currency's minor units.

export interface TierSales {
  priceTier: string;
  /** Seats of this tier booked now (booked, less taken back). */
  seatsSold: number;
  /** What those seats were sold for. */
  revenueCents: number;
}

export interface MinuteSales {
  /** The minute's start. */
  minuteMs: number;
  bookings: number;
  seats: number;
}

export interface SalesFigures {
  bookings: number;
  /** Bookings left with no seat (every seat taken back). */
  bookingsCancelled: number;
  seatsBooked: number;
  seatsCancelled: number;
  /** Every booking's total, as paid. */
  grossCents: number;
  /** Bookings' refunds that succeeded, and what they paid back. */
  refunds: number;
  refundedCents: number;
  /** Bookings' refunds that failed and have not succeeded since (retried with backoff). */
  refundsFailing: number;
  tiers: TierSales[];
  /** Minutes with bookings since the asked instant, oldest first. */
  minutes: MinuteSales[];
}

/** One seat a booking has or had. */
export interface AttendeeSeat {
  bookingId: string;
  /** The buyer's address when the booking has one, else their user id. */
  buyer: string;
  seatNo: number;
  section: string;
  row: string;
  number: number;
  priceTier: string;
  priceCents: number;
  status: 'booked' | 'refunded';
  checkedInAtMs: number | null;
  bookedAtMs: number;
}

export interface EventStatsStore {
  /** The figures of the event (zeros before its first booking); minutes from sinceMs on. */
  sales(eventId: string, sinceMs: number): Promise<SalesFigures>;
  /**
   * Every seat of every booking of the event, in the order the bookings were made (then by
   * seat), a page of about pageBookings bookings at a time (an event may have 100,000 seats).
   */
  attendees(eventId: string, pageBookings: number): AsyncIterable<AttendeeSeat[]>;
}
