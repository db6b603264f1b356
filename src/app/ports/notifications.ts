// What a booking's buyer is given and told: ticket documents (QR codes, the PDF of a
// booking's tickets) and e-mail. Adapters: adapters/documents (qrcode, pdf-lib) and
// adapters/mail (nodemailer over SMTP_URL, or .eml files under DATA_DIR/mail).

export type TicketStatus = 'valid' | 'revoked' | 'checked_in';

/** One booked seat's ticket, as the buyer sees it. */
export interface TicketView {
  ticketId: string;
  seatId: string;
  section: string;
  row: string;
  number: number;
  status: TicketStatus;
  /** The signed code the QR carries (see app/tickets.ts). */
  code: string;
}

/** Everything printed on a booking's tickets. */
export interface BookingTickets {
  bookingId: string;
  eventName: string;
  venueName: string;
  venueCity: string;
  /** The event's start, ISO 8601 in UTC. */
  startsAt: string;
  totalCents: number;
  currency: string;
  tickets: TicketView[];
}

export interface TicketDocuments {
  /** A QR code of the code, as a standalone SVG document. */
  qrSvg(code: string): Promise<string>;
  /** A PDF with one ticket per page: event, venue, time, section, row, seat and its QR. */
  ticketsPdf(booking: BookingTickets): Promise<Uint8Array>;
}

export interface MailAttachment {
  filename: string;
  contentType: string;
  content: Uint8Array;
}

export interface OutgoingMail {
  /**
   * Stable for one fact and kind of mail: the Message-ID is built from it, so a mail sent
   * again after a crash is recognisably the same message.
   */
  id: string;
  to: string;
  subject: string;
  text: string;
  html?: string;
  attachments?: MailAttachment[];
}

export interface Mailer {
  /** Resolves when the message was accepted (by the SMTP server, or written to disk). */
  send(mail: OutgoingMail): Promise<void>;
  close(): Promise<void>;
}
