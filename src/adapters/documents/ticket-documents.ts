// The buyer's tickets: a QR code per ticket (qrcode) and a PDF with one A6 page per ticket
// (pdf-lib, pure JavaScript, with the standard Helvetica fonts so no font file is shipped).
// The standard fonts encode WinAnsi only: any other character is printed as '?', so an
// event named in Greek or with an emoji still gets its tickets.
import assert from 'node:assert/strict';
import {
  PDFDocument,
  StandardFonts,
  fill,
  popGraphicsState,
  pushGraphicsState,
  rectangle,
  rgb,
  setFillingGrayscaleColor,
  type PDFFont,
  type PDFPage,
} from 'pdf-lib';
import QRCode from 'qrcode';
import { eventTimeText } from '../../app/mail-messages.ts';
import type { BookingTickets, TicketDocuments, TicketView } from '../../app/ports/notifications.ts';

/** A6 portrait, in points. */
const pageWidth = 298;
const pageHeight = 420;
const margin = 20;
const contentWidth = pageWidth - 2 * margin;
const qrSize = 170;
/** Light modules around the code, as the QR specification asks for a clean read. */
const qrQuietModules = 2;
/** A name is cut to this many characters before layout: the page shows far fewer anyway. */
const textLengthMax = 500;
const ticketsPerPdfMax = 1000;
const black = rgb(0, 0, 0);
const grey = rgb(0.4, 0.4, 0.4);
const red = rgb(0.75, 0, 0);

export class PdfTicketDocuments implements TicketDocuments {
  async qrSvg(code: string): Promise<string> {
    return QRCode.toString(code, { type: 'svg', errorCorrectionLevel: 'M', margin: qrQuietModules });
  }

  async ticketsPdf(booking: BookingTickets): Promise<Uint8Array> {
    assert.ok(booking.tickets.length <= ticketsPerPdfMax, `a PDF holds at most ${ticketsPerPdfMax} tickets`);
    const document = await PDFDocument.create();
    document.setTitle(`Tickets: ${booking.eventName}`, { showInWindowTitleBar: true });
    document.setSubject(`Booking ${booking.bookingId}`);
    document.setCreator('Boxoffice');
    document.setLanguage('en');
    const fonts = {
      regular: await document.embedFont(StandardFonts.Helvetica),
      bold: await document.embedFont(StandardFonts.HelveticaBold),
    };
    const printable = printableText(fonts.regular);
    for (const ticket of booking.tickets) {
      drawTicket(document.addPage([pageWidth, pageHeight]), booking, ticket, fonts, printable);
    }
    return document.save();
  }
}

function drawTicket(
  page: PDFPage,
  booking: BookingTickets,
  ticket: TicketView,
  fonts: { regular: PDFFont; bold: PDFFont },
  printable: (text: string) => string,
): void {
  let top = pageHeight - margin;
  /** Draws lines of text downwards from the cursor, each cut to the page's width. */
  const write = (textLines: string[], font: PDFFont, size: number, color = black) => {
    for (const line of textLines) {
      top -= size * 1.2;
      page.drawText(line, { x: margin, y: top + size * 0.25, size, font, color });
    }
  };
  const text = (value: string) => printable(value.slice(0, textLengthMax));

  write(wrap(text(booking.eventName), fonts.bold, 16, contentWidth, 3), fonts.bold, 16);
  top -= 4;
  write(
    wrap(text(`${booking.venueName}, ${booking.venueCity}`), fonts.regular, 10, contentWidth, 2),
    fonts.regular,
    10,
  );
  write([eventTimeText(booking.startsAt)], fonts.regular, 10);

  // Section, row and seat in three columns: a small label over a large value.
  top -= 10;
  const columnWidth = contentWidth / 3;
  const seat: [string, string][] = [
    ['SECTION', ticket.section],
    ['ROW', ticket.row],
    ['SEAT', String(ticket.number)],
  ];
  seat.forEach(([label, value], index) => {
    const x = margin + index * columnWidth;
    page.drawText(label, { x, y: top - 8, size: 7, font: fonts.regular, color: grey });
    const shown = cut(text(value), fonts.bold, 14, columnWidth - 6);
    page.drawText(shown, { x, y: top - 24, size: 14, font: fonts.bold, color: black });
  });
  top -= 30;

  // A ticket that no longer admits says so above its code, in red capitals.
  if (ticket.status !== 'valid') {
    const status = ticket.status === 'revoked' ? 'REVOKED: NOT VALID FOR ENTRY' : 'CHECKED IN';
    const size = 13;
    const width = fonts.bold.widthOfTextAtSize(status, size);
    page.drawRectangle({ x: margin, y: top - 20, width: contentWidth, height: 20, borderColor: red, borderWidth: 1.5 });
    page.drawText(status, { x: (pageWidth - width) / 2, y: top - 15, size, font: fonts.bold, color: red });
  }
  top -= 24;

  drawQr(page, ticket.code, (pageWidth - qrSize) / 2, top - qrSize, qrSize);

  const footer = [`Ticket ${ticket.ticketId}`, `Booking ${booking.bookingId}`];
  footer.forEach((line, index) => {
    const shown = cut(text(line), fonts.regular, 7, contentWidth);
    page.drawText(shown, { x: margin, y: margin + 10 - index * 9, size: 7, font: fonts.regular, color: grey });
  });
}

/**
 * The QR code as filled squares in one path, a run of dark modules in a row as one
 * rectangle: vector, so it prints sharp at any size, and a few hundred operators per page.
 */
function drawQr(page: PDFPage, code: string, x: number, y: number, size: number): void {
  const modules = QRCode.create(code, { errorCorrectionLevel: 'M' }).modules;
  const moduleSize = size / (modules.size + 2 * qrQuietModules);
  const left = x + qrQuietModules * moduleSize;
  const top = y + size - qrQuietModules * moduleSize;
  const operators = [pushGraphicsState(), setFillingGrayscaleColor(0)];
  for (let row = 0; row < modules.size; row++) {
    for (let column = 0; column < modules.size;) {
      if (!modules.get(row, column)) {
        column++;
        continue;
      }
      const start = column;
      while (column < modules.size && modules.get(row, column)) column++;
      const rowBottom = top - (row + 1) * moduleSize;
      operators.push(rectangle(left + start * moduleSize, rowBottom, (column - start) * moduleSize, moduleSize));
    }
  }
  operators.push(fill(), popGraphicsState());
  page.pushOperators(...operators);
}

/** Replaces what the font cannot encode with '?', and any run of white space with one space. */
function printableText(font: PDFFont): (text: string) => string {
  const encodable = new Set(font.getCharacterSet());
  return (text) =>
    Array.from(text.normalize('NFC').replace(/\s+/g, ' '), (char) =>
      encodable.has(char.codePointAt(0)!) ? char : '?',
    ).join('');
}

/** Greedy word wrap into at most linesMax lines; what does not fit ends in an ellipsis. */
function wrap(text: string, font: PDFFont, size: number, width: number, linesMax: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter(Boolean)) {
    const candidate = line ? `${line} ${word}` : word;
    if (!line || font.widthOfTextAtSize(candidate, size) <= width) {
      line = candidate;
    } else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  const kept = lines.slice(0, linesMax).map((kept) => cut(kept, font, size, width));
  if (lines.length > linesMax) kept[linesMax - 1] = cut(lines.slice(linesMax - 1).join(' '), font, size, width, true);
  return kept;
}

/** The longest start of the text that fits the width with an ellipsis after it (found by bisection). */
function cut(text: string, font: PDFFont, size: number, width: number, always = false): string {
  if (!always && font.widthOfTextAtSize(text, size) <= width) return text;
  const chars = Array.from(text);
  const shortened = (count: number) => `${chars.slice(0, count).join('').trimEnd()}…`;
  let fits = 0;
  let tooLong = chars.length + 1;
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (font.widthOfTextAtSize(shortened(middle), size) <= width) fits = middle;
    else tooLong = middle;
  }
  return shortened(fits);
}
