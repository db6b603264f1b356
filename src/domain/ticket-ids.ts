// Ticket ids and what a ticket code names. A ticket is a booked seat: its id is derived
// from (booking, seat), opaque and stable. The signed code the QR carries is made and
// checked by adapters/tokens/hmac-ticket-codes.ts.

export interface TicketIdentity {
  bookingId: string;
  eventId: string;
  seatNo: number;
}

const ticketIdPattern = /^tk_([A-Za-z0-9_-]{27})$/;

export const uuidBytesOf = (uuid: string) => Buffer.from(uuid.replaceAll('-', ''), 'hex');
export const uuidOf = (bytes: Buffer) => {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/** A ticket's id: opaque, stable, and the same for one booked seat whoever asks. */
export function ticketIdOf(bookingId: string, seatNo: number): string {
  const bytes = Buffer.alloc(20);
  uuidBytesOf(bookingId).copy(bytes, 0);
  bytes.writeUInt32BE(seatNo, 16);
  return `tk_${bytes.toString('base64url')}`;
}

/** The booked seat a ticket id names, or null for anything else. */
export function parseTicketId(ticketId: string): { bookingId: string; seatNo: number } | null {
  const match = ticketIdPattern.exec(ticketId);
  if (!match) return null;
  const bytes = Buffer.from(match[1]!, 'base64url');
  if (bytes.length !== 20 || bytes.toString('base64url') !== match[1]) return null;
  return { bookingId: uuidOf(bytes.subarray(0, 16)), seatNo: bytes.readUInt32BE(16) };
}
