// Money and dates the way a buyer reads them (the browser's locale).
/** Minor units (cents; yen for JPY) as the currency is written. */
export { formatPrice as money } from './seat-map/describe.ts';

const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function dateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

/** "9:05" or "1:02:03" for a countdown. */
export function countdown(msLeft: number): string {
  const totalSeconds = Math.max(0, Math.ceil(msLeft / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export function waitText(seconds: number | null): string {
  if (seconds === null) return 'not known yet';
  if (seconds < 60) return 'less than a minute';
  const minutes = Math.round(seconds / 60);
  return minutes === 1 ? 'about a minute' : `about ${minutes} minutes`;
}

const timeOfDayFormat = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

/** "14:05" (or "2:05 PM", as the browser's locale writes it) today; "7 Dec, 14:05" another day. */
export function timeOfDay(iso: string, nowMs: number): string {
  const moment = new Date(iso);
  const sameDay = moment.toDateString() === new Date(nowMs).toDateString();
  return sameDay ? timeOfDayFormat.format(moment) : `${dayFormat.format(moment)}, ${timeOfDayFormat.format(moment)}`;
}
