// A booking's tickets in My bookings: one per seat, each with its QR code drawn inline
// (fetched with the token: the route needs it), its seat and whether it is valid, refunded
// (revoked) or already used (checked in); and the whole booking as a PDF, one ticket a page.
// They load when the booking comes near the screen, so a long list of bookings does not
// fetch every QR code at once.
import { api, apiBlob, apiText, describeError, type BookingTickets, type Ticket } from '../api.ts';
import { h, replace } from '../dom.ts';
import { qrSvgElement } from '../qr-svg.ts';
import { seatLabel } from '../seat-labels.ts';

/** How far below the screen a booking's tickets start loading. */
const loadAheadMargin = '600px';
/** A downloaded PDF's blob URL is released after this (the download has long started). */
const blobUrlLifetimeMs = 60_000;

const statusText: Record<Ticket['status'], string> = {
  valid: 'Valid',
  revoked: 'Revoked: refunded',
  checked_in: 'Checked in',
};

export function createBookingTickets(bookingId: string): HTMLElement {
  const list = h('ul', { class: 'ticket-list', 'data-testid': 'tickets', 'aria-busy': 'true' });
  const status = h('p', { class: 'hint ticket-list-status' }, 'Loading tickets…');
  const section = h(
    'section',
    { class: 'booking-tickets', 'aria-label': `Tickets of booking ${bookingId}` },
    h('div', { class: 'booking-tickets-head' }, h('h3', {}, 'Tickets'), pdfButton(bookingId)),
    status,
    list,
  );

  let started = false;
  const load = async () => {
    if (started) return;
    started = true;
    try {
      const { tickets } = await api<BookingTickets>(`/v1/bookings/${encodeURIComponent(bookingId)}/tickets`);
      // Valid tickets first: they are the ones to show at the door.
      const order: Ticket['status'][] = ['valid', 'checked_in', 'revoked'];
      const sorted = [...tickets].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
      replace(list, ...sorted.map(ticketItem));
      status.textContent = tickets.length === 0 ? 'No tickets in this booking.' : '';
      status.hidden = tickets.length > 0;
    } catch (error) {
      started = false;
      const again = h('button', { type: 'button' }, 'Try again');
      again.addEventListener('click', () => void load());
      replace(status, `The tickets could not be loaded: ${describeError(error)} `, again);
    } finally {
      list.removeAttribute('aria-busy');
    }
  };

  if (typeof IntersectionObserver === 'function') {
    const observer = new IntersectionObserver(
      (entries) => {
        if (!entries.some((entry) => entry.isIntersecting)) return;
        observer.disconnect();
        void load();
      },
      { rootMargin: `${loadAheadMargin} 0px` },
    );
    observer.observe(section);
  } else {
    void load();
  }
  return section;
}

function ticketItem(ticket: Ticket): HTMLLIElement {
  const seat = seatLabel(ticket);
  const qr = h('div', { class: 'ticket-qr' });
  if (ticket.status === 'revoked') {
    // A refunded seat's code is refused at the door: no QR code to mistake for a ticket.
    qr.classList.add('ticket-qr-none');
    qr.append(h('span', {}, 'Refunded: not valid for entry'));
  } else {
    qr.append(h('span', { class: 'hint' }, 'Loading the QR code…'));
    void drawQr(qr, ticket, seat);
  }
  return h(
    'li',
    {
      class: `ticket ticket-${ticket.status}`,
      'data-ticket-id': ticket.ticket_id,
      'data-status': ticket.status,
      'data-testid': 'ticket',
    },
    qr,
    h(
      'div',
      { class: 'ticket-facts' },
      h('div', { class: 'ticket-seat', 'data-testid': 'ticket-seat' }, seat),
      h(
        'span',
        { class: `ticket-status ticket-status-${ticket.status}`, 'data-testid': 'ticket-status' },
        statusText[ticket.status],
      ),
      ticket.status === 'revoked'
        ? null
        : h(
            'details',
            { class: 'ticket-code' },
            h('summary', {}, 'Ticket code'),
            h('code', { 'data-testid': 'ticket-code' }, ticket.code),
          ),
    ),
  );
}

async function drawQr(host: HTMLElement, ticket: Ticket, seat: string) {
  try {
    const markup = await apiText(`/v1/tickets/${encodeURIComponent(ticket.ticket_id)}/qr.svg`, 'image/svg+xml');
    const svg = qrSvgElement(markup, 'QR code of this ticket');
    if (!svg) throw new Error('the service sent something that is not a QR code');
    replace(host, svg);
  } catch (error) {
    replace(host, h('span', { class: 'form-error' }, `No QR code: ${describeError(error)}`));
  }
}

/** "Download tickets (PDF)": fetched with the token, then saved from a blob URL. */
function pdfButton(bookingId: string): HTMLElement {
  const button = h('button', { type: 'button', 'data-testid': 'download-tickets' }, 'Download tickets (PDF)');
  const error = h('span', { class: 'form-error', role: 'alert' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.textContent = '';
    button.textContent = 'Preparing the PDF…';
    try {
      const pdf = await apiBlob(`/v1/bookings/${encodeURIComponent(bookingId)}/tickets.pdf`, 'application/pdf');
      const url = URL.createObjectURL(pdf);
      const link = h('a', { href: url, download: `tickets-${bookingId}.pdf`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), blobUrlLifetimeMs);
    } catch (failure) {
      error.textContent = `The PDF could not be made: ${describeError(failure)}`;
    } finally {
      button.disabled = false;
      button.textContent = 'Download tickets (PDF)';
    }
  });
  return h('div', { class: 'booking-tickets-pdf' }, button, error);
}
