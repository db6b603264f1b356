// The buyer's bank, played by the test payment provider: the page a confirmation's
// next_action sends the buyer to for 3-D Secure (`/#/bank/<payment_id>`). Approve or
// Decline answers for the bank (POST /v1/dev/payments/{id}/complete); the provider's
// webhook then books the hold or releases it, and the buyer goes back to checkout, which
// waits for that outcome. With Stripe the bank's own page stands here instead.
import { api, ApiError, describeError } from '../api.ts';
import { h, replace } from '../dom.ts';
import { money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { pendingPayment } from '../pending-payments.ts';

export function renderBank(context: PageContext) {
  if (!context.requireSignIn()) return;
  const paymentId = context.params.paymentId!;
  context.setTitle('Test bank');
  // What checkout left for this payment (none when the page was opened some other way).
  const note = pendingPayment(paymentId);
  const amount = note ? money(note.amountCents, note.currency) : null;

  const message = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'bank-error' });
  const approve = h('button', { type: 'button', class: 'primary', 'data-testid': 'bank-approve' }, 'Approve');
  const decline = h('button', { type: 'button', 'data-testid': 'bank-decline' }, 'Decline');
  const panel = h(
    'section',
    { class: 'panel narrow bank', 'aria-labelledby': 'bank-title', 'data-testid': 'bank' },
    h(
      'div',
      { class: 'bank-head' },
      h('span', { class: 'bank-mark', 'aria-hidden': 'true' }, 'TB'),
      h('span', {}, 'Test bank · payment check (3-D Secure)'),
    ),
    h('h1', { id: 'bank-title' }, 'Test bank'),
    h(
      'p',
      { class: 'bank-question', 'data-testid': 'bank-question' },
      amount ? `Approve this payment of ${amount} to Boxoffice?` : 'Approve this payment to Boxoffice?',
    ),
    h(
      'dl',
      { class: 'bank-facts' },
      h('dt', {}, 'Merchant'),
      h('dd', {}, 'Boxoffice'),
      note ? [h('dt', {}, 'For'), h('dd', {}, note.eventName)] : null,
      amount ? [h('dt', {}, 'Amount'), h('dd', {}, amount)] : null,
      h('dt', {}, 'Payment'),
      h('dd', { class: 'bank-reference' }, paymentId),
    ),
    h('div', { class: 'actions' }, approve, decline),
    message,
    h('p', { class: 'hint' }, 'This page stands in for your bank in the demo: no real card is charged.'),
  );

  let answered = false;
  const answer = async (outcome: 'succeeded' | 'failed') => {
    if (answered) return;
    answered = true;
    approve.disabled = decline.disabled = true;
    message.textContent = '';
    panel.setAttribute('aria-busy', 'true');
    try {
      await api(`/v1/dev/payments/${encodeURIComponent(paymentId)}/complete`, { method: 'POST', body: { outcome } });
    } catch (error) {
      answered = false;
      approve.disabled = decline.disabled = false;
      panel.removeAttribute('aria-busy');
      message.textContent =
        error instanceof ApiError && error.status === 404
          ? 'This payment is not waiting for the bank (it may have ended already).'
          : describeError(error);
      return;
    }
    // Back to the merchant, as a bank's page redirects: checkout waits for the outcome there.
    if (note) {
      context.navigate(`/reservations/${encodeURIComponent(note.reservationId)}`, { replace: true });
      return;
    }
    panel.removeAttribute('aria-busy');
    replace(
      panel,
      h('h1', { id: 'bank-title' }, 'Test bank'),
      h('p', { role: 'status' }, outcome === 'succeeded' ? 'Payment approved.' : 'Payment declined.'),
      h('p', {}, h('a', { href: '/bookings', 'data-link': true }, 'My bookings')),
    );
  };
  approve.addEventListener('click', () => void answer('succeeded'));
  decline.addEventListener('click', () => void answer('failed'));

  replace(context.root, panel);
  approve.focus();
}
