// How a seat is named to a person.
export function seatLabel(seat: { section: string; row: string; number: number }): string {
  return `${seat.section}, row ${seat.row}, seat ${seat.number}`;
}
