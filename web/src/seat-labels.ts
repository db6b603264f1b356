// How a seat is named to a person.
export function seatLabel(seat: { section: string; row: string; number: number }): string {
  return `${seat.section}, row ${seat.row}, seat ${seat.number}`;
}

/** Seats as a person reads them, one line per row: "Front, row 2, seats 5–8, 10". */
export function seatRuns(seats: readonly { section: string; row: string; number: number }[]): string[] {
  const rows = new Map<string, { section: string; row: string; numbers: number[] }>();
  for (const seat of seats) {
    const key = `${seat.section}\u0000${seat.row}`;
    const row = rows.get(key) ?? { section: seat.section, row: seat.row, numbers: [] };
    row.numbers.push(seat.number);
    rows.set(key, row);
  }
  return [...rows.values()].map(({ section, row, numbers }) => {
    numbers.sort((a, b) => a - b);
    const runs: string[] = [];
    for (let start = 0; start < numbers.length;) {
      let end = start;
      while (end + 1 < numbers.length && numbers[end + 1] === numbers[end]! + 1) end += 1;
      runs.push(end === start ? String(numbers[start]) : `${numbers[start]}–${numbers[end]}`);
      start = end + 1;
    }
    return `${section}, row ${row}, seat${numbers.length === 1 ? '' : 's'} ${runs.join(', ')}`;
  });
}
