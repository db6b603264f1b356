// The tickets PDF read back as a scanner and a reader would: pdf-lib parses it, the text
// drawn on each page is decoded from its content stream, and the QR code's squares are
// rasterized and decoded with jsQR, so what is printed is proven to carry the ticket's code.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import jsqr from 'jsqr';
import { PDFArray, PDFDocument, PDFRawStream, decodePDFRawStream, type PDFPage } from 'pdf-lib';
import { PdfTicketDocuments } from '../../src/adapters/documents/ticket-documents.ts';
import type { BookingTickets, TicketView } from '../../src/app/ports/notifications.ts';

// jsqr is CommonJS typed as an ES module: under NodeNext its function is the `default` property.
const jsQR = jsqr.default;
const documents = new PdfTicketDocuments();
/** '…' as WinAnsi encodes it, the way textOf reads it back. */
const ellipsis = '\x85';

function ticket(overrides: Partial<TicketView> = {}): TicketView {
  return {
    ticketId: 'tkt-0001',
    seatId: 'seat-a-3-12',
    section: 'A',
    row: '3',
    number: 12,
    status: 'valid',
    code: 'BX1.tkt-0001.c2lnbmF0dXJlLW9mLXRoZS10aWNrZXQ',
    ...overrides,
  };
}

function booking(overrides: Partial<BookingTickets> = {}): BookingTickets {
  return {
    bookingId: 'bkg-42',
    eventName: 'The Marriage of Figaro',
    venueName: 'Royal Opera House',
    venueCity: 'London',
    startsAt: '2027-03-01T19:00:00.000Z',
    totalCents: 18000,
    currency: 'GBP',
    tickets: [ticket(), ticket({ ticketId: 'tkt-0002', number: 13, code: 'BX1.tkt-0002.another-signature' })],
    ...overrides,
  };
}

/** A page's content stream, decompressed, as text (its operators are ASCII). */
function contentOf(document: PDFDocument, page: PDFPage): string {
  const contents = page.node.Contents();
  const refs = contents instanceof PDFArray ? contents.asArray() : [contents];
  return refs
    .map((ref) => {
      const stream = ref && document.context.lookup(ref);
      assert.ok(stream instanceof PDFRawStream, 'a page content stream');
      return Buffer.from(decodePDFRawStream(stream).decode()).toString('latin1');
    })
    .join('\n');
}

/** The text shown on a page: pdf-lib writes each string as <hex> Tj in the font's WinAnsi codes. */
function textOf(content: string): string {
  return [...content.matchAll(/<([0-9A-F]*)> Tj/g)]
    .map((match) => Buffer.from(match[1]!, 'hex').toString('latin1'))
    .join('\n');
}

/** The QR code drawn on a page, rasterized from its `x y w h re` squares and decoded. */
function qrOf(content: string): string | undefined {
  const squares = [...content.matchAll(/^(\S+) (\S+) (\S+) (\S+) re$/gm)].map((match) => match.slice(1, 5).map(Number));
  assert.ok(squares.length > 0, 'the page draws QR squares');
  const moduleSize = Math.min(...squares.map(([, , , height]) => height!));
  const left = Math.min(...squares.map(([x]) => x!));
  const top = Math.max(...squares.map(([, y, , height]) => y! + height!));
  const modules = Math.round((Math.max(...squares.map(([x, , width]) => x! + width!)) - left) / moduleSize);
  const pixelsPerModule = 4;
  const quietModules = 4;
  const side = (modules + 2 * quietModules) * pixelsPerModule;
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
  for (const [x, y, width, height] of squares) {
    const column = Math.round((x! - left) / moduleSize);
    const row = Math.round((top - y! - height!) / moduleSize);
    const columns = Math.round(width! / moduleSize);
    for (let py = 0; py < pixelsPerModule; py++) {
      for (let px = 0; px < columns * pixelsPerModule; px++) {
        const pixelX = (quietModules + column) * pixelsPerModule + px;
        const pixelY = (quietModules + row) * pixelsPerModule + py;
        pixels.fill(0, (pixelY * side + pixelX) * 4, (pixelY * side + pixelX) * 4 + 3);
      }
    }
  }
  return jsQR(pixels, side, side)?.data;
}

describe('ticket documents', () => {
  test('when a booking has two tickets, then its PDF has one page each with the title set', async () => {
    const pdf = await PDFDocument.load(await documents.ticketsPdf(booking()));
    assert.equal(pdf.getPageCount(), 2);
    assert.equal(pdf.getTitle(), 'Tickets: The Marriage of Figaro');
  });

  test('when a page is read, then it shows the event, venue, UTC time, seat and ids', async () => {
    const pdf = await PDFDocument.load(await documents.ticketsPdf(booking()));
    const text = textOf(contentOf(pdf, pdf.getPage(1)));
    for (const expected of [
      'The Marriage of Figaro',
      'Royal Opera House, London',
      'Mon 1 Mar 2027, 19:00 UTC',
      'SECTION',
      'A',
      '3',
      '13',
      'Ticket tkt-0002',
      'Booking bkg-42',
    ]) {
      assert.ok(text.split('\n').includes(expected), `"${expected}" on the page:\n${text}`);
    }
    assert.doesNotMatch(text, /REVOKED/);
  });

  test('when a ticket is revoked, then its page says REVOKED', async () => {
    const pdf = await PDFDocument.load(
      await documents.ticketsPdf(booking({ tickets: [ticket({ status: 'revoked' })] })),
    );
    assert.match(textOf(contentOf(pdf, pdf.getPage(0))), /REVOKED/);
  });

  test("when a page's QR code is scanned, then it reads that ticket's code", async () => {
    const pdf = await PDFDocument.load(await documents.ticketsPdf(booking()));
    assert.equal(qrOf(contentOf(pdf, pdf.getPage(0))), 'BX1.tkt-0001.c2lnbmF0dXJlLW9mLXRoZS10aWNrZXQ');
    assert.equal(qrOf(contentOf(pdf, pdf.getPage(1))), 'BX1.tkt-0002.another-signature');
  });

  test('when a name has characters the standard fonts lack, then they print as ? and the rest stays', async () => {
    const pdf = await PDFDocument.load(
      await documents.ticketsPdf(booking({ eventName: 'Ünïcode Ωmega 🎉 東京 Night', venueCity: 'Zürich\nCity' })),
    );
    const text = textOf(contentOf(pdf, pdf.getPage(0)));
    assert.ok(text.includes('Ünïcode ?mega ? ?? Night'), text);
    assert.ok(text.includes('Royal Opera House, Zürich City'), text);
    assert.equal(pdf.getTitle(), 'Tickets: Ünïcode Ωmega 🎉 東京 Night', 'the metadata keeps the full name');
  });

  test('when a name is far too long for the page, then it is wrapped onto three lines and cut', async () => {
    const eventName = `${'Symphony '.repeat(200)}${'x'.repeat(5000)}`;
    const pdf = await PDFDocument.load(
      await documents.ticketsPdf(booking({ eventName, tickets: [ticket({ section: 'Balcony'.repeat(20) })] })),
    );
    const lines = textOf(contentOf(pdf, pdf.getPage(0))).split('\n');
    const nameLines = lines.filter((line) => line.startsWith('Symphony'));
    assert.equal(nameLines.length, 3);
    assert.ok(nameLines[2]!.endsWith(ellipsis), 'the last line ends in an ellipsis');
    assert.ok(lines.some((line) => line.startsWith('Balcony') && line.endsWith(ellipsis)));
  });

  test('when a QR code is asked for alone, then it is a standalone SVG document', async () => {
    const svg = await documents.qrSvg('BX1.tkt-0001.sig');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\s*$/);
  });
});
