// The refund policy's fields, in the builder and in an event's "Refunds and cancellation":
// off by default (buyers cannot cancel; the organizer can still refund any booking); when
// on, buyers may cancel until some hours before the start, less a fee.
import type { RefundPolicy } from '../../api.ts';
import { h } from '../../dom.ts';
import type { FieldTargets } from './event-body.ts';
import { field, fieldId, integerOf } from './fields.ts';

const cancelUntilHoursDefault = 48;

/** A number typed in an input, or NaN (sent as null, so the server names the field). */
function numberOf(input: HTMLInputElement): number {
  const value = input.value.trim();
  return value === '' ? NaN : Number(value);
}

export function createRefundPolicyFields(initial: RefundPolicy | null = null) {
  const allowed = h('input', { type: 'checkbox', name: 'refund-policy', id: fieldId('organize') });
  const untilHours = h('input', {
    type: 'number',
    name: 'buyer-cancel-until-hours',
    class: 'organize-short',
    min: 0,
    max: 8_760,
    step: 1,
  });
  const feePercent = h('input', {
    type: 'number',
    name: 'fee-percent',
    class: 'organize-short',
    min: 0,
    max: 100,
    step: 'any',
  });
  const set = (policy: RefundPolicy | null) => {
    allowed.checked = policy !== null;
    untilHours.value = String(policy?.buyer_cancel_until_hours ?? cancelUntilHoursDefault);
    feePercent.value = String(policy?.fee_percent ?? 0);
    untilHours.disabled = feePercent.disabled = policy === null;
  };
  set(initial);
  allowed.addEventListener('change', () => (untilHours.disabled = feePercent.disabled = !allowed.checked));

  /** The policy to send (null: buyers cannot cancel), and where its errors go. */
  const read = (targets: FieldTargets): RefundPolicy | null => {
    targets.set('/refund_policy', allowed);
    targets.set('/refund_policy/buyer_cancel_until_hours', untilHours);
    targets.set('/refund_policy/fee_percent', feePercent);
    return allowed.checked
      ? { buyer_cancel_until_hours: integerOf(untilHours), fee_percent: numberOf(feePercent) }
      : null;
  };

  const element = h(
    'fieldset',
    { class: 'organize-refund-policy' },
    h('legend', {}, 'Refund policy'),
    h(
      'div',
      { class: 'organize-inline' },
      h('label', { class: 'organize-check', for: allowed.id }, allowed, ' Let buyers cancel for a refund'),
      field('Until (hours before the start)', untilHours),
      field('Cancellation fee (%)', feePercent),
    ),
    h(
      'p',
      { class: 'organize-hint' },
      'Without it buyers cannot cancel. You can refund any booking yourself at any time, in full.',
    ),
  );

  return { element, read, set };
}
