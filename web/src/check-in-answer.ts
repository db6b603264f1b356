// What the door scanner shows after a scan, from the service's answer to
// POST /v1/events/{id}/checkins: a word to read from a distance (green for "in", red for "not
// in"), the seat when the ticket is known, and a line saying why.
import { ApiError, describeError, type CheckIn, type Ticket } from './api.ts';
import { timeOfDay } from './format.ts';
import { seatLabel } from './seat-labels.ts';

export type ScanResult = 'admitted' | 'already_checked_in' | 'revoked' | 'invalid' | 'refused' | 'error';

export interface ScanAnswer {
  result: ScanResult;
  /** Green: the holder goes in; red: they do not; neither: the scan did not reach a decision. */
  tone: 'go' | 'stop' | 'unknown';
  headline: string;
  seat: string | null;
  detail: string;
}

/** The service's reason as a sentence of its own. */
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');

const seatOf = (ticket: Ticket | undefined) => (ticket ? seatLabel(ticket) : null);

export function admittedAnswer(checkIn: CheckIn): ScanAnswer {
  return {
    result: 'admitted',
    tone: 'go',
    headline: 'Admitted',
    seat: seatLabel(checkIn.ticket),
    detail: 'Valid ticket: let them in.',
  };
}

/** The answer for a check-in that failed: a refusal of the ticket, or no decision (network, rights). */
export function refusedAnswer(error: unknown, nowMs: number): ScanAnswer {
  if (!(error instanceof ApiError)) {
    return { result: 'error', tone: 'unknown', headline: 'Not checked', seat: null, detail: describeError(error) };
  }
  const ticket = error.problem.ticket;
  switch (error.code) {
    case 'ALREADY_CHECKED_IN': {
      const at = error.problem.checked_in_at ?? ticket?.checked_in_at;
      return {
        result: 'already_checked_in',
        tone: 'stop',
        headline: at ? `Already checked in at ${timeOfDay(at, nowMs)}` : 'Already checked in',
        seat: seatOf(ticket),
        detail: 'This ticket was scanned before: do not let a second person in on it.',
      };
    }
    case 'TICKET_REVOKED':
      return {
        result: 'revoked',
        tone: 'stop',
        headline: 'Revoked',
        seat: seatOf(ticket),
        detail: 'This ticket was refunded: it is no longer valid.',
      };
    case 'TICKET_INVALID':
      return {
        result: 'invalid',
        tone: 'stop',
        headline: 'Invalid ticket',
        seat: null,
        detail: sentence(error.message),
      };
    case 'EVENT_NOT_FOUND':
      return {
        result: 'refused',
        tone: 'unknown',
        headline: 'Not checked',
        seat: null,
        detail: 'You may not check tickets in for this event (or it does not exist): choose another event.',
      };
    case 'NETWORK':
      return {
        result: 'error',
        tone: 'unknown',
        headline: 'Not checked',
        seat: null,
        detail: 'The service cannot be reached: check the connection and scan again.',
      };
    default:
      // A code the service refused before looking at it (e.g. far too long) is not a ticket either.
      if (error.status === 400) {
        return {
          result: 'invalid',
          tone: 'stop',
          headline: 'Invalid ticket',
          seat: null,
          detail: describeError(error),
        };
      }
      return { result: 'error', tone: 'unknown', headline: 'Not checked', seat: null, detail: describeError(error) };
  }
}
