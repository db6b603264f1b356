// The mails a buyer is sent, composed from facts: pure functions, no I/O, so the wording is
// tested without a mail server. Each mail's id is `${factId}.${kind}`: a fact delivered
// again (at least once) composes the same id, and the mailer turns it into the same
// Message-ID, so a resend is recognisably one message.
import type { BookingTickets, OutgoingMail, TicketView } from './ports/notifications.ts';

/** An event name longer than this is cut in a subject line (the body has it in full). */
const subjectNameLengthMax = 120;

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * An instant as a buyer reads it: "Mon 1 Mar 2027, 19:00 UTC". Spelled out by hand rather
 * than with Intl.DateTimeFormat, whose output shifts between ICU versions. Also printed on
 * the tickets (adapters/documents).
 */
export function eventTimeText(startsAt: string): string {
  const time = new Date(startsAt);
  if (Number.isNaN(time.getTime())) throw new Error(`eventTimeText: "${startsAt}" is not an instant`);
  const hours = String(time.getUTCHours()).padStart(2, '0');
  const minutes = String(time.getUTCMinutes()).padStart(2, '0');
  return (
    `${weekdays[time.getUTCDay()]} ${time.getUTCDate()} ${months[time.getUTCMonth()]} ` +
    `${time.getUTCFullYear()}, ${hours}:${minutes} UTC`
  );
}

/**
 * An amount in the currency's minor unit (cents for EUR, yen for JPY), as the web app
 * prints prices (web/src/seat-map/describe.ts).
 */
export function moneyText(minorUnits: number, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  const minorUnit = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minorUnits / 10 ** minorUnit);
}

export function seatText(ticket: Pick<TicketView, 'section' | 'row' | 'number'>): string {
  return `Section ${ticket.section}, row ${ticket.row}, seat ${ticket.number}`;
}

export function bookingConfirmedMail(input: {
  factId: string;
  to: string;
  booking: BookingTickets;
  pdf: Uint8Array;
  webUrl?: string;
}): OutgoingMail {
  const { booking } = input;
  const when = `${eventTimeText(booking.startsAt)} at ${booking.venueName}, ${booking.venueCity}`;
  const seats = booking.tickets.map(seatText);
  const total = moneyText(booking.totalCents, booking.currency);
  const attachment = `tickets-${booking.bookingId}.pdf`;
  return {
    id: `${input.factId}.booking-confirmed`,
    to: input.to,
    subject: `Your tickets for ${subjectName(booking.eventName)}`,
    text: lines(
      `Your booking for ${booking.eventName} is confirmed.`,
      '',
      when,
      '',
      ...seats.map((seat) => `- ${seat}`),
      '',
      `Total paid: ${total}`,
      `Booking: ${booking.bookingId}`,
      '',
      `Your tickets are attached (${attachment}): show the QR code of each at the door.`,
      ...(input.webUrl ? ['', `Your booking online: ${input.webUrl}`] : []),
    ),
    html: page(
      paragraph(`Your booking for <strong>${escapeHtml(booking.eventName)}</strong> is confirmed.`),
      paragraph(escapeHtml(when)),
      `<ul>${seats.map((seat) => `<li>${escapeHtml(seat)}</li>`).join('')}</ul>`,
      paragraph(`Total paid: ${escapeHtml(total)}<br>Booking: ${escapeHtml(booking.bookingId)}`),
      paragraph(`Your tickets are attached (${escapeHtml(attachment)}): show the QR code of each at the door.`),
      input.webUrl ? paragraph(link(input.webUrl, 'Your booking online')) : '',
    ),
    attachments: [{ filename: attachment, contentType: 'application/pdf', content: input.pdf }],
  };
}

export function refundMail(input: {
  factId: string;
  to: string;
  eventName: string;
  amountCents: number;
  currency: string;
  seatsDescription: string;
  status: 'succeeded' | 'failed';
}): OutgoingMail {
  const amount = moneyText(input.amountCents, input.currency);
  const succeeded = input.status === 'succeeded';
  const subject = succeeded
    ? `Your refund for ${subjectName(input.eventName)}`
    : `Your refund for ${subjectName(input.eventName)} did not go through`;
  const said = succeeded
    ? [
        `We refunded ${amount} for ${input.seatsDescription} at ${input.eventName}.`,
        'It can take a few days to show on your statement.',
      ]
    : [
        `We could not refund ${amount} for ${input.seatsDescription} at ${input.eventName}.`,
        'Please contact us so that we can put it right.',
      ];
  return {
    id: `${input.factId}.refund`,
    to: input.to,
    subject,
    text: lines(...said),
    html: page(...said.map((sentence) => paragraph(escapeHtml(sentence)))),
  };
}

export function eventCancelledMail(input: {
  factId: string;
  to: string;
  eventName: string;
  startsAt: string;
  refundCents: number;
  currency: string;
}): OutgoingMail {
  const said = [
    `We are sorry: ${input.eventName} on ${eventTimeText(input.startsAt)} is cancelled.`,
    input.refundCents > 0
      ? `We are refunding ${moneyText(input.refundCents, input.currency)} to you.`
      : 'Your tickets are no longer valid.',
  ];
  return {
    id: `${input.factId}.event-cancelled`,
    to: input.to,
    subject: `${subjectName(input.eventName)} is cancelled`,
    text: lines(...said),
    html: page(...said.map((sentence) => paragraph(escapeHtml(sentence)))),
  };
}

export function yourTurnMail(input: {
  factId: string;
  to: string;
  eventName: string;
  admissionWindowSeconds: number;
  url?: string;
}): OutgoingMail {
  const said = [
    `It is your turn to choose seats for ${input.eventName}.`,
    `You have ${durationText(input.admissionWindowSeconds)} to do so; after that the next in line gets their turn.`,
  ];
  return {
    id: `${input.factId}.your-turn`,
    to: input.to,
    subject: `It's your turn: ${subjectName(input.eventName)}`,
    text: lines(...said, ...(input.url ? ['', `Choose your seats: ${input.url}`] : [])),
    html: page(
      ...said.map((sentence) => paragraph(escapeHtml(sentence))),
      input.url ? paragraph(link(input.url, 'Choose your seats')) : '',
    ),
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** "10 minutes", "1 minute", "90 seconds": whole minutes when the window is some. */
function durationText(seconds: number): string {
  if (seconds >= 60 && seconds % 60 === 0) return plural(seconds / 60, 'minute');
  return plural(seconds, 'second');
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** A subject is one line: a name's line breaks become spaces, and a long name is cut. */
function subjectName(name: string): string {
  const oneLine = name.replace(/\s+/g, ' ').trim();
  const chars = Array.from(oneLine);
  return chars.length > subjectNameLengthMax ? `${chars.slice(0, subjectNameLengthMax - 1).join('')}…` : oneLine;
}

function lines(...text: string[]): string {
  return `${text.join('\n')}\n`;
}

function paragraph(html: string): string {
  return `<p>${html}</p>`;
}

function link(url: string, label: string): string {
  return `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
}

function page(...body: string[]): string {
  return `<!doctype html>\n<html><body>\n${body.filter(Boolean).join('\n')}\n</body></html>\n`;
}
