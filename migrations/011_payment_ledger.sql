-- The payment ledger (issue 17): every charge and every refund, with the provider's ids,
-- amounts, states and the idempotency keys used. The rules that keep money right are
-- constraints and triggers here, not only code:
-- - one payment row per (reservation, attempt), created when the attempt starts paying,
--   before the provider is called, so a charge made by a process that then died is known;
-- - a refund adds its amount to its payment's refunded_cents, which may never exceed the
--   amount charged (CHECK): refunds of a charge never exceed it;
-- - a payment that did not book is refunded whole, once (unique index); a booked seat is
--   refunded once (refunded_seats' primary key); a refund's provider key is unique;
-- - a refund row is never deleted, and its amount and payment never change;
-- - the charge that paid for a booking is never refunded as "unbooked".
-- Provider webhook events are applied once each (provider_events' primary key).

CREATE TABLE payments (
  id             uuid        PRIMARY KEY,
  reservation_id uuid        NOT NULL REFERENCES reservations (id),
  attempt        integer     NOT NULL CHECK (attempt >= 0),
  -- The provider's payment (a PaymentIntent id with Stripe), once it answered.
  charge_id      text        UNIQUE,
  amount_cents   bigint      NOT NULL CHECK (amount_cents >= 0),
  currency       text        NOT NULL,
  -- started: the attempt began, the provider may or may not have been called;
  -- requires_action / processing: pending at the provider (the hold is kept alive);
  -- succeeded; failed (declined, or the buyer's bank said no); voided: cancelled at the
  -- provider before anything was charged.
  status         text        NOT NULL
                 CHECK (status IN ('started', 'requires_action', 'processing', 'succeeded', 'failed', 'voided')),
  refunded_cents bigint      NOT NULL DEFAULT 0,
  -- A pending payment keeps its hold alive until this instant.
  pending_until  timestamptz,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  UNIQUE (reservation_id, attempt),
  CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
  CHECK (refunded_cents = 0 OR status = 'succeeded')
);
CREATE INDEX payments_pending ON payments (updated_at) WHERE status IN ('requires_action', 'processing');

CREATE TABLE refunds (
  id                 uuid        PRIMARY KEY,
  payment_id         uuid        NOT NULL REFERENCES payments (id),
  -- The booking whose seats are refunded; null for a payment that never booked (the hold
  -- was lost, or another attempt paid), which is refunded whole.
  booking_id         uuid        REFERENCES bookings (id),
  amount_cents       bigint      NOT NULL CHECK (amount_cents > 0),
  -- What the buyer keeps paying for the refunded seats (a cancellation fee).
  fee_cents          bigint      NOT NULL DEFAULT 0 CHECK (fee_cents >= 0),
  seat_nos           integer[]   NOT NULL DEFAULT '{}',
  reason             text        NOT NULL
                     CHECK (reason IN ('hold_lost', 'buyer_cancelled', 'organizer', 'event_cancelled')),
  -- The organizer's words, when they refund.
  note               text,
  provider_key       text        NOT NULL UNIQUE,
  provider_refund_id text        UNIQUE,
  -- pending: to be sent (or being sent); failed: the provider refused or did not answer,
  -- retried from next_attempt_at with backoff; succeeded.
  status             text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts           integer     NOT NULL DEFAULT 0,
  next_attempt_at    timestamptz NOT NULL,
  last_error         text,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);
CREATE UNIQUE INDEX refunds_whole_unbooked ON refunds (payment_id) WHERE booking_id IS NULL;
CREATE INDEX refunds_due ON refunds (next_attempt_at) WHERE status <> 'succeeded';
CREATE INDEX refunds_by_booking ON refunds (booking_id) WHERE booking_id IS NOT NULL;

CREATE TABLE refunded_seats (
  booking_id uuid    NOT NULL REFERENCES bookings (id),
  seat_no    integer NOT NULL,
  -- null when nothing was due (free seats, or a fee of 100%)
  refund_id  uuid    REFERENCES refunds (id),
  PRIMARY KEY (booking_id, seat_no)
);

CREATE FUNCTION refunds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'refund % may not be deleted', OLD.id USING ERRCODE = 'BX003';
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF NEW.amount_cents <> OLD.amount_cents OR NEW.payment_id <> OLD.payment_id
       OR NEW.booking_id IS DISTINCT FROM OLD.booking_id OR NEW.provider_key <> OLD.provider_key THEN
      RAISE EXCEPTION 'refund % may not change what it refunds', OLD.id USING ERRCODE = 'BX003';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.booking_id IS NULL AND EXISTS (
      SELECT 1 FROM payments p JOIN bookings b ON b.charge_id = p.charge_id WHERE p.id = NEW.payment_id) THEN
    RAISE EXCEPTION 'payment % paid for a booking: it is refunded only by seat', NEW.payment_id USING ERRCODE = 'BX003';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER refunds_guard BEFORE INSERT OR UPDATE OR DELETE ON refunds
  FOR EACH ROW EXECUTE FUNCTION refunds_guard();

-- After the insert (so a refund skipped by ON CONFLICT counts nothing): the payment's
-- CHECK refuses a refund beyond what was charged, failing the whole transaction.
CREATE FUNCTION refunds_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE payments SET refunded_cents = refunded_cents + NEW.amount_cents, updated_at = NEW.created_at
  WHERE id = NEW.payment_id;
  RETURN NULL;
END
$$;
CREATE TRIGGER refunds_count AFTER INSERT ON refunds FOR EACH ROW EXECUTE FUNCTION refunds_count();

CREATE TABLE provider_events (
  id          text        PRIMARY KEY,
  type        text        NOT NULL,
  charge_id   text,
  received_at timestamptz NOT NULL
);

-- A booking keeps what was paid (total_cents); seat_nos are the seats it still holds.
ALTER TABLE bookings ADD COLUMN status text NOT NULL DEFAULT 'confirmed'
  CHECK (status IN ('confirmed', 'partially_cancelled', 'cancelled'));

-- {buyer_cancel_until_hours, fee_percent}; null: buyers cannot cancel.
ALTER TABLE events ADD COLUMN refund_policy jsonb;

-- The durable job that refunds every booking of a cancelled event.
CREATE TABLE event_cancellations (
  event_id    uuid        PRIMARY KEY REFERENCES events (id),
  status      text        NOT NULL CHECK (status IN ('running', 'done')),
  started_at  timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE INDEX event_cancellations_running ON event_cancellations (started_at) WHERE status = 'running';
-- The job's work list: cancelled events (few) are found without reading every event.
CREATE INDEX events_cancelled ON events (id) WHERE status = 'cancelled';

-- Bookings made before the ledger: their charges, as paid.
INSERT INTO payments (id, reservation_id, attempt, charge_id, amount_cents, currency, status, created_at, updated_at)
SELECT gen_random_uuid(), b.reservation_id, r.payment_attempt, b.charge_id, b.total_cents, b.currency, 'succeeded',
       b.created_at, b.created_at
FROM bookings b JOIN reservations r ON r.id = b.reservation_id;
