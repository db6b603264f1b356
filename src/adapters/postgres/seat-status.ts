// A seat's status in SQL, the twin of domain/holds.ts seatStatusAt: booked when it has a
// booking; blocked while in an organizer's block; held while hold_expires_at > now (a hold ends exactly at its expiry, invariant 3);
// otherwise available. hold_seats.sql and confirm_reservation.sql compare the same way.
// `now` is a parameter placeholder ($2), `alias` a table alias with its dot ('s.').

export const seatStatusSql = (now: string, alias = '') =>
  `CASE WHEN ${alias}booking_id IS NOT NULL THEN 'booked' WHEN ${alias}block_id IS NOT NULL THEN 'blocked' ` +
  `WHEN ${alias}hold_expires_at > ${now} THEN 'held' ELSE 'available' END`;

export const seatHeldSql = (now: string, alias = '') =>
  `${alias}booking_id IS NULL AND ${alias}hold_expires_at > ${now}`;

export const seatAvailableSql = (now: string, alias = '') =>
  `${alias}booking_id IS NULL AND ${alias}block_id IS NULL AND (${alias}hold_expires_at IS NULL OR ${alias}hold_expires_at <= ${now})`;
