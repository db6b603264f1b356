// Ticket codes: what a ticket's QR code carries, signed with an HMAC under a key id:
//
//   BX1.<kid>.<body>.<mac>
//   body = base64url(booking uuid, 16 bytes | event uuid, 16 bytes | seat_no, uint32 BE)
//   mac  = base64url(first 16 bytes of HMAC-SHA256(key, "BX1.<kid>.<body>"))
//
// The ticket id is derived from (booking, seat), so the MAC covers ticket, booking, event
// and seat. Keys rotate: the newest signs, every key still listed verifies, a key removed
// from the list no longer does. About 80 characters: a small, easily scanned QR code.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TicketCodes } from '../../app/ports/tickets.ts';
import { type TicketIdentity, uuidBytesOf, uuidOf } from '../../domain/ticket-ids.ts';

export interface TicketSigningKey {
  id: string;
  secret: string;
}

const version = 'BX1';
const macBytes = 16;
const bodyBytes = 36;
export const ticketKeyIdPattern = /^[A-Za-z0-9_-]{1,16}$/;
const codePattern = /^BX1\.([A-Za-z0-9_-]{1,16})\.([A-Za-z0-9_-]{48})\.([A-Za-z0-9_-]{22})$/;

function macOf(secret: string, signed: string): string {
  return createHmac('sha256', secret).update(signed).digest().subarray(0, macBytes).toString('base64url');
}

export class HmacTicketCodes implements TicketCodes {
  private readonly byId: Map<string, string>;

  /** keys: newest first; the first signs. */
  constructor(private readonly keys: TicketSigningKey[]) {
    if (keys.length === 0) throw new Error('assertion: at least one ticket signing key');
    for (const key of keys) {
      if (!ticketKeyIdPattern.test(key.id)) throw new Error(`assertion: ticket key id ${key.id} is malformed`);
    }
    this.byId = new Map(keys.map((key) => [key.id, key.secret]));
  }

  sign(ticket: TicketIdentity): string {
    const key = this.keys[0]!;
    const body = Buffer.alloc(bodyBytes);
    uuidBytesOf(ticket.bookingId).copy(body, 0);
    uuidBytesOf(ticket.eventId).copy(body, 16);
    body.writeUInt32BE(ticket.seatNo, 32);
    const signed = `${version}.${key.id}.${body.toString('base64url')}`;
    return `${signed}.${macOf(key.secret, signed)}`;
  }

  /** The ticket a code names, or null: malformed, an unknown (retired) key, or a bad MAC. */
  verify(code: string): TicketIdentity | null {
    const match = codePattern.exec(code.trim());
    if (!match) return null;
    const [, keyId, body, mac] = match as unknown as [string, string, string, string];
    const secret = this.byId.get(keyId);
    if (secret === undefined) return null;
    const expected = Buffer.from(macOf(secret, `${version}.${keyId}.${body}`));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return null;
    const bytes = Buffer.from(body, 'base64url');
    if (bytes.length !== bodyBytes) return null;
    return {
      bookingId: uuidOf(bytes.subarray(0, 16)),
      eventId: uuidOf(bytes.subarray(16, 32)),
      seatNo: bytes.readUInt32BE(32),
    };
  }
}

/** TICKET_SIGNING_KEYS: "kid:secret,kid:secret", newest first. */
export function parseTicketSigningKeys(text: string): TicketSigningKey[] {
  return text.split(',').map((entry) => {
    const at = entry.indexOf(':');
    return { id: entry.slice(0, at), secret: entry.slice(at + 1) };
  });
}
