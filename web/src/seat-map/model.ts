// The seat map as typed arrays, built from the event detail (tiers, sections, positions)
// and the seat list (ids and statuses, in seat order). Drawing, hit-testing and the seat
// list all read these arrays; nothing here touches the DOM, so it is built and tested
// without a page. Units: plan coordinates are seat widths, the stage is at the top.
import { seatKindsOf } from './seat-kinds.ts';

export type SeatStatus = 'available' | 'held' | 'booked' | 'blocked';

/** Status codes as the availability document packs them (2 bits per seat). */
export const seatStatusCode = { available: 0, held: 1, booked: 2, blocked: 3 } as const satisfies Record<
  SeatStatus,
  number
>;
const statusOfCode: readonly SeatStatus[] = ['available', 'held', 'booked', 'blocked'];

export interface PriceTier {
  id: string;
  name: string;
  price_cents: number;
  currency: string;
}

export interface SectionPosition {
  /** Left edge of the unrotated section, in seat widths. */
  x: number;
  /** Top edge of the unrotated section, in seat widths. */
  y: number;
  /** Degrees clockwise, about the section's centre. */
  angle?: number;
}

export interface EventSection {
  name: string;
  price_tier: string;
  /** accessible, companion: seat numbers (from 1) that are wheelchair spaces and companion seats. */
  rows: { label: string; seats: number; accessible?: number[]; companion?: number[] }[];
  position?: SectionPosition;
  /** Best available's order of sections (lower first), when the organizer set one. */
  rank?: number;
}

/** The part of GET /v1/events/{id} the seat map needs. */
export interface EventSeatPlan {
  price_tiers: PriceTier[];
  sections: EventSection[];
}

export interface SeatListEntry {
  seat_id: string;
  section: string;
  row: string;
  number: number;
  price_cents: number;
  status: SeatStatus;
}

/** GET /v1/events/{id}/seats */
export interface SeatList {
  event_id: string;
  version: number;
  seats: SeatListEntry[];
}

/** GET /v1/events/{id}/availability, and the `snapshot` event of the seat stream. */
export interface AvailabilityDocument {
  version: number;
  seat_count: number;
  encoding: string;
  data: string;
}

export interface SeatChange {
  seat_id: string;
  status: SeatStatus;
}

/** The `seat` event of the seat stream. */
export interface SeatChangesMessage {
  version: number;
  changes: SeatChange[];
}

export interface PlanRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface SectionGeometry {
  name: string;
  /** Index into model.tiers, or -1 when the section's tier is unknown. */
  tierIndex: number;
  firstRow: number;
  rowCount: number;
  firstSeat: number;
  seatCount: number;
  /** Width (the longest row) and depth (the row count) of the unrotated section, in seat widths. */
  width: number;
  depth: number;
  centerX: number;
  centerY: number;
  /** Radians, clockwise. */
  angle: number;
  /** Whether the organizer placed it (otherwise the automatic layout did). */
  placed: boolean;
}

/**
 * Called with the seats whose status changed, or null when every seat may have changed
 * (a snapshot).
 */
export type StatusListener = (changed: readonly number[] | null) => void;

/** Gaps of the automatic layout, in seat widths. */
const sectionGap = 3;
const lineGap = 4;
/** How far the automatic fan opens either side of the stage axis. */
const fanHalfAngle = (55 * Math.PI) / 180;

export class SeatMapModel {
  readonly seatCount: number;
  readonly version: number;
  readonly tiers: readonly PriceTier[];
  readonly sections: readonly SectionGeometry[];
  /** Per seat. */
  readonly seatIds: readonly string[];
  readonly statuses: Uint8Array;
  /** Seat centres on the plan, in seat widths. */
  readonly xs: Float32Array;
  readonly ys: Float32Array;
  readonly sectionOfSeat: Uint16Array;
  readonly rowOfSeat: Uint32Array;
  readonly numbers: Uint32Array;
  readonly priceCents: Float64Array;
  /** Index into tiers, 255 when unknown. */
  readonly tierOfSeat: Uint8Array;
  /** seatKindCode per seat: a wheelchair space, a companion seat, or neither (seat-kinds.ts). */
  readonly kinds: Uint8Array;
  /** Per row (over all sections, in seat order). */
  readonly rowLabels: readonly string[];
  readonly rowFirstSeat: Uint32Array;
  readonly rowSeatCount: Uint32Array;
  readonly rowSection: Uint16Array;
  readonly bounds: { minX: number; minY: number; maxX: number; maxY: number };
  readonly stage: PlanRect;

  private index: Map<string, number> | null = null;
  private readonly listeners = new Set<StatusListener>();

  private constructor(parts: {
    version: number;
    tiers: PriceTier[];
    sections: SectionGeometry[];
    seatIds: string[];
    statuses: Uint8Array;
    xs: Float32Array;
    ys: Float32Array;
    sectionOfSeat: Uint16Array;
    rowOfSeat: Uint32Array;
    numbers: Uint32Array;
    priceCents: Float64Array;
    tierOfSeat: Uint8Array;
    kinds: Uint8Array;
    rowLabels: string[];
    rowFirstSeat: Uint32Array;
    rowSeatCount: Uint32Array;
    rowSection: Uint16Array;
    bounds: { minX: number; minY: number; maxX: number; maxY: number };
    stage: PlanRect;
  }) {
    this.seatCount = parts.seatIds.length;
    this.version = parts.version;
    this.tiers = parts.tiers;
    this.sections = parts.sections;
    this.seatIds = parts.seatIds;
    this.statuses = parts.statuses;
    this.xs = parts.xs;
    this.ys = parts.ys;
    this.sectionOfSeat = parts.sectionOfSeat;
    this.rowOfSeat = parts.rowOfSeat;
    this.numbers = parts.numbers;
    this.priceCents = parts.priceCents;
    this.tierOfSeat = parts.tierOfSeat;
    this.kinds = parts.kinds;
    this.rowLabels = parts.rowLabels;
    this.rowFirstSeat = parts.rowFirstSeat;
    this.rowSeatCount = parts.rowSeatCount;
    this.rowSection = parts.rowSection;
    this.bounds = parts.bounds;
    this.stage = parts.stage;
  }

  /**
   * Builds the model from the event detail and the seat list. The seat list is the truth
   * for which seats exist (and their ids); the event detail gives tiers and positions by
   * section name, so a seat list that does not quite match the detail still draws.
   */
  static fromApi(plan: EventSeatPlan, list: SeatList): SeatMapModel {
    const seats = list.seats;
    const rows = rowsAsPlanned(plan, seats) ?? rowsOfSeatList(seats);
    return SeatMapModel.build(plan, {
      version: list.version,
      count: seats.length,
      rows,
      sectionName: (row) => seats[rows.rowStarts[row]!]!.section,
      fill(seatIds, statuses, numbers, priceCents) {
        for (let seat = 0; seat < seats.length; seat += 1) {
          const entry = seats[seat]!;
          seatIds[seat] = entry.seat_id;
          // Compared, not looked up: a keyed lookup would hash each parsed string.
          const status = entry.status;
          statuses[seat] = status === 'available' ? 0 : status === 'held' ? 1 : status === 'blocked' ? 3 : 2;
          numbers[seat] = entry.number;
          priceCents[seat] = entry.price_cents;
        }
      },
    });
  }

  /**
   * Builds the model from the event detail alone, when it says how seat ids are made
   * (seat i is `prefix + i`), with the statuses of an availability document: no seat list
   * (about 10 MB for 100,000 seats) to fetch, parse or walk.
   */
  static fromPlan(plan: EventSeatPlan, seatIdPrefix: string, statuses: Uint8Array, version: number): SeatMapModel {
    const rows: SeatRows = { rowLabels: [], rowStarts: [], rowSections: [] };
    const rowSeats: number[] = [];
    let count = 0;
    plan.sections.forEach((section, sectionIndex) => {
      for (const row of section.rows) {
        rows.rowLabels.push(row.label);
        rows.rowStarts.push(count);
        rows.rowSections.push(sectionIndex);
        rowSeats.push(row.seats);
        count += row.seats;
      }
    });
    if (statuses.length !== count) throw new Error(`availability has ${statuses.length} seats, the plan ${count}`);
    const prices = new Map(plan.price_tiers.map((tier) => [tier.id, tier.price_cents]));
    return SeatMapModel.build(plan, {
      version,
      count,
      rows,
      sectionName: (row) => plan.sections[rows.rowSections[row]!]!.name,
      fill(seatIds, seatStatuses, numbers, priceCents) {
        for (let seat = 0; seat < count; seat += 1) seatIds[seat] = `${seatIdPrefix}${seat}`;
        seatStatuses.set(statuses);
        rowSeats.forEach((seatsInRow, row) => {
          const first = rows.rowStarts[row]!;
          const price = prices.get(plan.sections[rows.rowSections[row]!]!.price_tier) ?? 0;
          priceCents.fill(price, first, first + seatsInRow);
          for (let offset = 0; offset < seatsInRow; offset += 1) numbers[first + offset] = offset + 1;
        });
      },
    });
  }

  private static build(plan: EventSeatPlan, source: SeatSource): SeatMapModel {
    const seatCount = source.count;
    // Tier indexes are bytes (255: unknown), and the view's colour slots add four: the API allows 100.
    const tiers = plan.price_tiers.slice(0, 250);
    const tierIndexById = new Map(tiers.map((tier, index) => [tier.id, index]));
    const planSections = new Map(plan.sections.map((section) => [section.name, section]));

    const seatIds = new Array<string>(seatCount);
    const statuses = new Uint8Array(seatCount);
    const sectionOfSeat = new Uint16Array(seatCount);
    const rowOfSeat = new Uint32Array(seatCount);
    const numbers = new Uint32Array(seatCount);
    const priceCents = new Float64Array(seatCount);
    const tierOfSeat = new Uint8Array(seatCount);
    const sections: SectionGeometry[] = [];
    const { rowLabels, rowStarts, rowSections } = source.rows;
    const rowCount = rowLabels.length;
    for (let row = 0; row < rowCount; row += 1) {
      const sectionIndex = rowSections[row]!;
      if (sections.length > sectionIndex) continue;
      const name = source.sectionName(row);
      const planned = planSections.get(name);
      const tierIndex = planned ? (tierIndexById.get(planned.price_tier) ?? -1) : -1;
      sections.push({
        name,
        tierIndex,
        firstRow: row,
        rowCount: 0,
        firstSeat: rowStarts[row]!,
        seatCount: 0,
        width: 0,
        depth: 0,
        centerX: 0,
        centerY: 0,
        angle: 0,
        placed: false,
      });
    }
    // Per row, the shared values are filled in bulk; per seat, only what differs is read.
    for (let row = 0; row < rowCount; row += 1) {
      const start = rowStarts[row]!;
      const end = row + 1 < rowCount ? rowStarts[row + 1]! : seatCount;
      const sectionIndex = rowSections[row]!;
      const tierIndex = sections[sectionIndex]!.tierIndex;
      sectionOfSeat.fill(sectionIndex, start, end);
      rowOfSeat.fill(row, start, end);
      tierOfSeat.fill(tierIndex < 0 ? 255 : tierIndex, start, end);
    }
    source.fill(seatIds, statuses, numbers, priceCents);

    const rowFirstSeat = Uint32Array.from(rowStarts);
    const rowSection = Uint16Array.from(rowSections);
    const rowSeatCount = new Uint32Array(rowCount);
    for (let row = 0; row < rowCount; row += 1) {
      rowSeatCount[row] = (row + 1 < rowCount ? rowStarts[row + 1]! : seatCount) - rowStarts[row]!;
    }
    for (let index = 0; index < sections.length; index += 1) {
      const section = sections[index]!;
      const next = sections[index + 1];
      section.rowCount = (next ? next.firstRow : rowCount) - section.firstRow;
      section.seatCount = (next ? next.firstSeat : seatCount) - section.firstSeat;
      section.depth = section.rowCount;
      for (let row = section.firstRow; row < section.firstRow + section.rowCount; row += 1) {
        section.width = Math.max(section.width, rowSeatCount[row]!);
      }
    }

    const stage = layOutSections(sections, planSections);

    // Seat centres: rows centred on the section's widest row, one seat width apart,
    // then the section's rotation about its centre.
    const xs = new Float32Array(seatCount);
    const ys = new Float32Array(seatCount);
    for (const section of sections) {
      const cos = Math.cos(section.angle);
      const sin = Math.sin(section.angle);
      for (let row = section.firstRow; row < section.firstRow + section.rowCount; row += 1) {
        const count = rowSeatCount[row]!;
        const first = rowFirstSeat[row]!;
        const localY = row - section.firstRow + 0.5 - section.depth / 2;
        const startX = (section.width - count) / 2 + 0.5 - section.width / 2;
        for (let offset = 0; offset < count; offset += 1) {
          const localX = startX + offset;
          xs[first + offset] = section.centerX + localX * cos - localY * sin;
          ys[first + offset] = section.centerY + localX * sin + localY * cos;
        }
      }
    }

    const bounds = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
    for (const section of sections) {
      for (const [x, y] of sectionCorners(section)) {
        bounds.minX = Math.min(bounds.minX, x);
        bounds.minY = Math.min(bounds.minY, y);
        bounds.maxX = Math.max(bounds.maxX, x);
        bounds.maxY = Math.max(bounds.maxY, y);
      }
    }
    bounds.minX = Math.min(bounds.minX, stage.x);
    bounds.minY = Math.min(bounds.minY, stage.y);
    bounds.maxX = Math.max(bounds.maxX, stage.x + stage.width);
    bounds.maxY = Math.max(bounds.maxY, stage.y + stage.height);
    if (sections.length === 0) Object.assign(bounds, { minX: 0, minY: 0, maxX: 1, maxY: 1 });

    return new SeatMapModel({
      version: source.version,
      tiers,
      sections,
      seatIds,
      statuses,
      xs,
      ys,
      sectionOfSeat,
      rowOfSeat,
      numbers,
      priceCents,
      tierOfSeat,
      kinds: seatKindsOf(planSections, sections, { rowLabels, rowFirstSeat, rowSeatCount }, numbers),
      rowLabels,
      rowFirstSeat,
      rowSeatCount,
      rowSection,
      bounds,
      stage,
    });
  }

  /** The seat's index, or -1 for an id this map does not have. */
  indexOf(seatId: string): number {
    // Built on first use: a page that never looks a seat up by id does not pay for it.
    if (!this.index) {
      this.index = new Map();
      for (let seat = 0; seat < this.seatCount; seat += 1) this.index.set(this.seatIds[seat]!, seat);
    }
    return this.index.get(seatId) ?? -1;
  }

  statusOf(seat: number): SeatStatus {
    return statusOfCode[this.statuses[seat]! & 3]!;
  }

  /** Sets one seat's status without telling listeners; returns whether it changed. */
  setStatus(seat: number, status: SeatStatus): boolean {
    const code = seatStatusCode[status];
    if (this.statuses[seat] === code) return false;
    this.statuses[seat] = code;
    return true;
  }

  /** Applies the `changes` of a `seat` event; unknown ids are skipped. Returns the seats that changed. */
  applyChanges(changes: readonly SeatChange[]): number[] {
    const changed: number[] = [];
    for (const change of changes) {
      const seat = this.indexOf(change.seat_id);
      if (seat >= 0 && Object.hasOwn(seatStatusCode, change.status) && this.setStatus(seat, change.status)) {
        changed.push(seat);
      }
    }
    if (changed.length > 0) this.notify(changed);
    return changed;
  }

  /** Replaces every status (a snapshot: see decodeAvailability). */
  applySnapshot(statuses: Uint8Array): void {
    if (statuses.length !== this.seatCount) {
      // A map replaced by the organizer: the page must reload it, not draw the wrong seats.
      throw new Error(`snapshot has ${statuses.length} seats, the map ${this.seatCount}`);
    }
    this.statuses.set(statuses);
    this.notify(null);
  }

  /** Listens to status changes; returns the function that stops listening. */
  onStatusChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(changed: readonly number[] | null): void {
    for (const listener of [...this.listeners]) listener(changed);
  }
}

interface SeatRows {
  rowLabels: string[];
  rowStarts: number[];
  rowSections: number[];
}

/** Where the model's per-seat values come from: the seat list, or the plan with statuses. */
interface SeatSource {
  version: number;
  count: number;
  rows: SeatRows;
  /** The name of the section a row (of rows) is in. */
  sectionName(row: number): string;
  fill(seatIds: string[], statuses: Uint8Array, numbers: Uint32Array, priceCents: Float64Array): void;
}

/**
 * The rows of the event detail, when the seat list has exactly those (the usual case):
 * checked at each row's first and last seat, so no seat's strings are compared.
 */
function rowsAsPlanned(plan: EventSeatPlan, seats: readonly SeatListEntry[]): SeatRows | null {
  const rows: SeatRows = { rowLabels: [], rowStarts: [], rowSections: [] };
  let cursor = 0;
  for (let sectionIndex = 0; sectionIndex < plan.sections.length; sectionIndex += 1) {
    const section = plan.sections[sectionIndex]!;
    if (section.rows.length === 0) return null;
    for (const row of section.rows) {
      const first = seats[cursor];
      const last = seats[cursor + row.seats - 1];
      const after = seats[cursor + row.seats];
      if (!first || !last || row.seats < 1) return null;
      if (first.section !== section.name || first.row !== row.label) return null;
      if (last.section !== section.name || last.row !== row.label) return null;
      if (after && after.section === section.name && after.row === row.label) return null;
      rows.rowLabels.push(row.label);
      rows.rowStarts.push(cursor);
      rows.rowSections.push(sectionIndex);
      cursor += row.seats;
    }
  }
  return cursor === seats.length ? rows : null;
}

/** Rows as runs of seats with the same section and row, when the list does not match the detail. */
function rowsOfSeatList(seats: readonly SeatListEntry[]): SeatRows {
  const rows: SeatRows = { rowLabels: [], rowStarts: [], rowSections: [] };
  let sectionName: string | null = null;
  let rowLabel: string | null = null;
  let sectionIndex = -1;
  for (let seat = 0; seat < seats.length; seat += 1) {
    const entry = seats[seat]!;
    if (entry.section !== sectionName) {
      sectionName = entry.section;
      rowLabel = null;
      sectionIndex += 1;
    }
    if (entry.row !== rowLabel) {
      rowLabel = entry.row;
      rows.rowLabels.push(rowLabel);
      rows.rowStarts.push(seat);
      rows.rowSections.push(sectionIndex);
    }
  }
  return rows;
}

/** Statuses per seat (0 available, 1 held, 2 booked, 3 blocked) from an availability document. */
export async function decodeAvailability(document: AvailabilityDocument): Promise<Uint8Array> {
  if (document.encoding !== '2bit-deflate-raw-base64') {
    throw new Error(`unknown availability encoding "${document.encoding}"`);
  }
  const packed = await inflateRaw(base64Bytes(document.data));
  return unpackStatuses(packed, document.seat_count);
}

/**
 * 2 bits per seat, most significant bits first: seat n is bits 2n and 2n+1 of the byte
 * string (as src/domain/availability.ts writes them). Missing bytes read as available.
 */
export function unpackStatuses(packed: Uint8Array, seatCount: number): Uint8Array {
  const statuses = new Uint8Array(seatCount);
  for (let seat = 0; seat < seatCount; seat += 1) {
    const byte = packed[seat >> 2] ?? 0;
    statuses[seat] = (byte >> (6 - 2 * (seat & 3))) & 3;
  }
  return statuses;
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

async function inflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>])
    .stream()
    .pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// ---------------------------------------------------------------- layout

function sectionCorners(section: SectionGeometry): [number, number][] {
  const cos = Math.cos(section.angle);
  const sin = Math.sin(section.angle);
  const halfWidth = section.width / 2;
  const halfDepth = section.depth / 2;
  return [
    [-halfWidth, -halfDepth],
    [halfWidth, -halfDepth],
    [halfWidth, halfDepth],
    [-halfWidth, halfDepth],
  ].map(([x, y]) => [section.centerX + x! * cos - y! * sin, section.centerY + x! * sin + y! * cos]);
}

function boxOf(sections: SectionGeometry[]): { minX: number; minY: number; maxX: number; maxY: number } {
  const box = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const section of sections) {
    for (const [x, y] of sectionCorners(section)) {
      box.minX = Math.min(box.minX, x);
      box.minY = Math.min(box.minY, y);
      box.maxX = Math.max(box.maxX, x);
      box.maxY = Math.max(box.maxY, y);
    }
  }
  return box;
}

/**
 * Places every section (centre and angle) and returns the stage. Sections with a
 * position go where the organizer put them; the others are laid out in a fan facing
 * the stage, and below the placed ones when there are both.
 */
function layOutSections(sections: SectionGeometry[], planSections: Map<string, EventSection>): PlanRect {
  const placed: SectionGeometry[] = [];
  const automatic: SectionGeometry[] = [];
  for (const section of sections) {
    const position = planSections.get(section.name)?.position;
    if (position && Number.isFinite(position.x) && Number.isFinite(position.y)) {
      section.placed = true;
      section.centerX = position.x + section.width / 2;
      section.centerY = position.y + section.depth / 2;
      section.angle = ((position.angle ?? 0) * Math.PI) / 180;
      placed.push(section);
    } else {
      automatic.push(section);
    }
  }
  const fanStage = layOutFan(automatic);
  if (placed.length === 0) return fanStage;

  const box = boxOf(placed);
  if (automatic.length > 0) {
    // Below the organizer's sections, centred under them.
    const fanBox = boxOf(automatic);
    const shiftX = (box.minX + box.maxX) / 2 - (fanBox.minX + fanBox.maxX) / 2;
    const shiftY = box.maxY + lineGap * 2 - fanBox.minY;
    for (const section of automatic) {
      section.centerX += shiftX;
      section.centerY += shiftY;
    }
  }
  const width = box.maxX - box.minX;
  const stageWidth = Math.max(8, width * 0.4);
  const stageHeight = Math.max(3, Math.min(12, stageWidth * 0.15));
  return {
    x: (box.minX + box.maxX) / 2 - stageWidth / 2,
    y: box.minY - lineGap * 2 - stageHeight,
    width: stageWidth,
    height: stageHeight,
  };
}

/**
 * Concentric lines of sections around the stage (at the origin), each section turned to
 * face it, in the given order from the front line's left. A section's wedge is its width
 * plus a gap measured on the line's front radius, and a rectangle whose front edge
 * touches that circle stays inside its wedge; the next line starts beyond the farthest
 * corner of this one. So sections never overlap.
 */
function layOutFan(sections: SectionGeometry[]): PlanRect {
  if (sections.length === 0) return { x: -4, y: -3, width: 8, height: 3 };
  const widest = Math.max(...sections.map((section) => section.width));
  const firstRadius = Math.max(12, widest * 1.5);
  let radius = firstRadius;
  let next = 0;
  while (next < sections.length) {
    const budget = radius * 2 * fanHalfAngle;
    const line: SectionGeometry[] = [sections[next]!];
    let length = sections[next]!.width;
    next += 1;
    while (next < sections.length && length + sectionGap + sections[next]!.width <= budget) {
      length += sectionGap + sections[next]!.width;
      line.push(sections[next]!);
      next += 1;
    }
    let along = -length / 2;
    let farthest = radius;
    for (const section of line) {
      const phi = (along + section.width / 2) / radius;
      const middle = radius + section.depth / 2;
      section.centerX = middle * Math.sin(phi);
      section.centerY = middle * Math.cos(phi);
      section.angle = -phi;
      along += section.width + sectionGap;
      farthest = Math.max(farthest, Math.hypot(radius + section.depth, section.width / 2));
    }
    radius = farthest + lineGap;
  }
  // Inside the front line's circle (its farthest corner is at 0.79 of the radius), so it cannot touch a section.
  const halfWidth = firstRadius * 0.3;
  const height = Math.min(firstRadius * 0.12, 10);
  return { x: -halfWidth, y: firstRadius * 0.73 - height, width: halfWidth * 2, height };
}
