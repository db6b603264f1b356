// A payment waiting on the buyer's bank (3-D Secure), as checkout leaves it when it sends
// the buyer there: the bank page reads what it is approving and where to send the buyer
// back; checkout, back again, reads where the bank is if the buyer has not answered yet.
// In sessionStorage: the tab that paid, kept across the bank's redirect and a reload.
export interface PendingPaymentNote {
  paymentId: string;
  reservationId: string;
  /** The bank's page (the confirmation's next_action). */
  bankUrl: string;
  amountCents: number;
  currency: string;
  eventName: string;
}

const byPaymentPrefix = 'boxoffice.payment.';
const byReservationPrefix = 'boxoffice.payment-for.';

export function rememberPendingPayment(note: PendingPaymentNote): void {
  const text = JSON.stringify(note);
  sessionStorage.setItem(byPaymentPrefix + note.paymentId, text);
  sessionStorage.setItem(byReservationPrefix + note.reservationId, text);
}

function read(key: string): PendingPaymentNote | null {
  const text = sessionStorage.getItem(key);
  if (!text) return null;
  try {
    return JSON.parse(text) as PendingPaymentNote;
  } catch {
    sessionStorage.removeItem(key);
    return null;
  }
}

export const pendingPayment = (paymentId: string) => read(byPaymentPrefix + paymentId);
export const pendingPaymentFor = (reservationId: string) => read(byReservationPrefix + reservationId);

/** The payment has an outcome: nothing is waiting any more. */
export function forgetPendingPayment(reservationId: string): void {
  const note = pendingPaymentFor(reservationId);
  if (note) sessionStorage.removeItem(byPaymentPrefix + note.paymentId);
  sessionStorage.removeItem(byReservationPrefix + reservationId);
}
