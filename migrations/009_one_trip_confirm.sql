-- The confirm in one round trip before the payment and one after (issue 16):
-- begin_confirmation() claims the key and marks the hold as being paid in one call, and
-- confirm_reservation() records the charge with the booking. The charge is no longer
-- recorded on its own, so a key remembers which payment attempt it began instead: a
-- request that takes a key over from a holder that died after charging can then refund
-- that attempt's charge at the provider by its key (see app/confirm-reservation.ts).
ALTER TABLE idempotency_keys ADD COLUMN payment_attempt integer;
COMMENT ON COLUMN idempotency_keys.charge_id IS
  'The charge that paid for the answer stored under this key (written with the booking).';
