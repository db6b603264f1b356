// My bookings, newest first.
import { api, describeError, type Booking } from '../api.ts';
import { h, replace } from '../dom.ts';
import { dateTime, money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { seatLabel } from '../seat-labels.ts';

export async function renderBookings(context: PageContext) {
  if (!context.requireSignIn()) return;
  context.setTitle('My bookings');
  const list = h('ul', { class: 'booking-list', 'data-testid': 'booking-list' });
  replace(context.root, h('h1', {}, 'My bookings'), list);
  try {
    const { bookings } = await api<{ bookings: Booking[] }>('/v1/me/bookings');
    if (bookings.length === 0) {
      replace(
        list,
        h('li', { class: 'hint' }, 'No bookings yet. ', h('a', { href: '/', 'data-link': true }, 'Find an event')),
      );
      return;
    }
    const names = new Map<string, string>();
    await Promise.all(
      [...new Set(bookings.map((booking) => booking.event_id))].map(async (eventId) => {
        try {
          const event = await api<{ name: string; starts_at: string }>(`/v1/events/${eventId}`);
          names.set(eventId, `${event.name} · ${dateTime(event.starts_at)}`);
        } catch {
          names.set(eventId, 'Event no longer listed');
        }
      }),
    );
    replace(list, ...bookings.map((booking) => bookingCard(booking, names.get(booking.event_id) ?? '')));
  } catch (error) {
    replace(list, h('li', { class: 'form-error', role: 'alert' }, describeError(error)));
  }
}

export function bookingCard(booking: Booking, eventName: string) {
  return h(
    'li',
    { class: 'booking-card', 'data-booking-id': booking.booking_id },
    h('a', { href: `/events/${booking.event_id}`, 'data-link': true, class: 'event-name' }, eventName),
    h('div', { class: 'event-meta' }, `Booking ${booking.booking_id} · booked ${dateTime(booking.created_at)}`),
    h('ul', { class: 'seat-chips' }, ...booking.seats.map((seat) => h('li', {}, seatLabel(seat)))),
    h('div', { class: 'total' }, `Total ${money(booking.total_cents, booking.currency)}`),
  );
}
