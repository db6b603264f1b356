// How a seat is said to a person: in the tooltip, the live region and the list's labels.
import type { SeatMapModel } from './model.ts';
import { seatKindOf, seatKindText } from './seat-kinds.ts';

const priceFormats = new Map<string, { format: Intl.NumberFormat; minorUnit: number }>();

/** price_cents is in the currency's minor unit: cents for USD, yen for JPY. */
export function formatPrice(minorUnits: number, currency: string): string {
  let known = priceFormats.get(currency);
  if (!known) {
    const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    known = { format, minorUnit: format.resolvedOptions().maximumFractionDigits ?? 2 };
    priceFormats.set(currency, known);
  }
  return known.format.format(minorUnits / 10 ** known.minorUnit);
}

export function seatCurrency(model: SeatMapModel, seat: number): string {
  const tier = model.tiers[model.tierOfSeat[seat]!] ?? model.tiers[0];
  return tier?.currency ?? 'USD';
}

export function seatPrice(model: SeatMapModel, seat: number): string {
  return formatPrice(model.priceCents[seat]!, seatCurrency(model, seat));
}

/** "Section Floor A, row 3, seat 12", and ", wheelchair space" or ", companion seat" when it is one. */
export function seatPlace(model: SeatMapModel, seat: number): string {
  const section = model.sections[model.sectionOfSeat[seat]!]!;
  const kind = seatKindText[seatKindOf(model.kinds, seat)];
  return `Section ${section.name}, row ${model.rowLabels[model.rowOfSeat[seat]!]}, seat ${model.numbers[seat]}${kind ? `, ${kind}` : ''}`;
}

/** The seat's status as a buyer reads it: a blocked seat is "not for sale". */
export function seatStatusText(model: SeatMapModel, seat: number): string {
  const status = model.statusOf(seat);
  return status === 'blocked' ? 'not for sale' : status;
}

/** "Section Floor A, row 3, seat 12, $250.00" */
export function seatLabel(model: SeatMapModel, seat: number): string {
  return `${seatPlace(model, seat)}, ${seatPrice(model, seat)}`;
}
