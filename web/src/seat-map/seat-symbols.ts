// What the seat map marks by shape as well as colour, drawn over the seats each frame:
// wheelchair spaces (a square around the seat, and a badge with the access symbol once
// seats are large) and companion seats (a dashed ring, and a round badge), seats off sale
// (crossed out), and seats held for this buyer (dark, with a tick). The legend draws its
// symbols with the same functions.
import type { SeatMapModel } from './model.ts';
import { seatColors } from './palette.ts';
import { seatKindCode } from './seat-kinds.ts';

/** Where the plan is on the canvas: device pixels per seat width, the plan origin, the canvas size. */
export interface SeatViewport {
  scale: number;
  offsetX: number;
  offsetY: number;
  pixelRatio: number;
  widthPx: number;
  heightPx: number;
}

/** Drawn over the seats, under the hover and focus marks. */
export type SeatLayer = (context: CanvasRenderingContext2D, viewport: SeatViewport) => void;

/** Below this many CSS pixels per seat width, shapes would be noise: colour alone. */
const outlineMinCss = 4;
/** From this many CSS pixels per seat width, a badge with the access symbol, and crosses on blocked seats. */
const badgeMinCss = 16;
const crossMinCss = 7;
/** Matches the canvas's seat disc (a radius of 0.41 seat widths). */
const seatRadius = 0.41;

export class SeatSymbols {
  /** Seats that are wheelchair spaces or companion seats, ascending. */
  private readonly marked: Uint32Array;

  constructor(private readonly model: SeatMapModel) {
    const marked: number[] = [];
    for (let seat = 0; seat < model.seatCount; seat += 1) if (model.kinds[seat] !== 0) marked.push(seat);
    this.marked = Uint32Array.from(marked);
  }

  draw(context: CanvasRenderingContext2D, viewport: SeatViewport): void {
    const css = viewport.scale / viewport.pixelRatio;
    if (css < outlineMinCss) return;
    if (css >= crossMinCss) this.drawBlocked(context, viewport);
    const { xs, ys, kinds, sections, sectionOfSeat } = this.model;
    const margin = viewport.scale;
    for (const seat of this.marked) {
      const x = xs[seat]! * viewport.scale + viewport.offsetX;
      const y = ys[seat]! * viewport.scale + viewport.offsetY;
      if (x < -margin || y < -margin || x > viewport.widthPx + margin || y > viewport.heightPx + margin) continue;
      const accessible = kinds[seat] === seatKindCode.accessible;
      // Turned with the section, as its rows are.
      context.save();
      context.translate(x, y);
      context.rotate(sections[sectionOfSeat[seat]!]!.angle);
      outlineSeat(context, accessible ? 'square' : 'ring', 0, 0, viewport);
      if (css >= badgeMinCss) {
        // At the seat's back corner: the row in front and the section's name stay clear.
        const at = viewport.scale * 0.3;
        drawBadge(context, accessible ? 'accessible' : 'companion', at, at, viewport.scale * 0.4, viewport.pixelRatio);
      }
      context.restore();
    }
  }

  private drawBlocked(context: CanvasRenderingContext2D, viewport: SeatViewport): void {
    const { xs, ys, statuses, seatCount } = this.model;
    const { scale, offsetX, offsetY, widthPx, heightPx } = viewport;
    const arm = scale * 0.2;
    context.beginPath();
    for (let seat = 0; seat < seatCount; seat += 1) {
      if (statuses[seat] !== 3) continue;
      const x = xs[seat]! * scale + offsetX;
      const y = ys[seat]! * scale + offsetY;
      if (x < -scale || y < -scale || x > widthPx + scale || y > heightPx + scale) continue;
      context.moveTo(x - arm, y - arm);
      context.lineTo(x + arm, y + arm);
      context.moveTo(x + arm, y - arm);
      context.lineTo(x - arm, y + arm);
    }
    context.lineWidth = Math.max(1.25 * viewport.pixelRatio, scale * 0.07);
    context.lineCap = 'round';
    context.strokeStyle = seatColors.blockedMark;
    context.stroke();
  }
}

function outlineSeat(
  context: CanvasRenderingContext2D,
  shape: 'square' | 'ring',
  x: number,
  y: number,
  viewport: SeatViewport,
): void {
  // Both clear of the disc (0.41) and short of the next seats' (0.59): told apart however
  // the section is turned, a square by its corners, a ring by its dashes.
  const lineWidth = Math.max(1.25 * viewport.pixelRatio, viewport.scale * 0.06);
  const half = viewport.scale * 0.47;
  context.beginPath();
  if (shape === 'square') context.rect(x - half, y - half, half * 2, half * 2);
  else {
    const radius = viewport.scale * 0.5;
    // Eight dashes around.
    const dash = (Math.PI * 2 * radius) / 16;
    context.setLineDash([dash, dash]);
    context.arc(x, y, radius, 0, Math.PI * 2);
  }
  context.lineWidth = lineWidth;
  context.lineJoin = 'round';
  context.strokeStyle = seatColors.accessible;
  context.stroke();
  context.setLineDash([]);
}

/**
 * A badge centred at (x, y), size device pixels across: the access symbol (a wheelchair user)
 * white on a blue square for a wheelchair space; a blue disc with a white dot for a companion seat.
 */
function drawBadge(
  context: CanvasRenderingContext2D,
  kind: 'accessible' | 'companion',
  x: number,
  y: number,
  size: number,
  pixelRatio: number,
): void {
  const half = size / 2;
  context.save();
  context.translate(x, y);
  context.beginPath();
  if (kind === 'accessible') context.roundRect(-half, -half, size, size, size * 0.15);
  else context.arc(0, 0, half, 0, Math.PI * 2);
  context.fillStyle = seatColors.accessible;
  context.fill();
  context.lineWidth = Math.max(1, pixelRatio);
  context.strokeStyle = '#ffffff';
  context.stroke();
  if (kind === 'companion') {
    context.beginPath();
    context.arc(0, 0, size * 0.16, 0, Math.PI * 2);
    context.fillStyle = '#ffffff';
    context.fill();
  } else if (size >= 7 * pixelRatio) {
    // The access symbol on a 16-unit grid centred on the badge: head, back and seat, leg, wheel.
    const unit = size / 16;
    context.scale(unit, unit);
    context.translate(-8, -8);
    context.fillStyle = '#ffffff';
    context.strokeStyle = '#ffffff';
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.lineWidth = 1.7;
    context.beginPath();
    context.arc(7, 3, 1.6, 0, Math.PI * 2);
    context.fill();
    context.beginPath();
    context.moveTo(6.6, 5.6);
    context.lineTo(6.9, 9.4);
    context.lineTo(10.6, 9.4);
    context.lineTo(12.2, 13);
    context.stroke();
    context.beginPath();
    context.arc(7.2, 10.4, 3.7, 0.2 * Math.PI, 1.4 * Math.PI);
    context.stroke();
  }
  context.restore();
}

/** Seats held for this buyer: dark, like a selection, with a white tick instead of a dot. */
export function drawOwnSeats(
  context: CanvasRenderingContext2D,
  model: SeatMapModel,
  seats: Iterable<number>,
  viewport: SeatViewport,
): void {
  const ratio = viewport.pixelRatio;
  const radius = Math.max(viewport.scale * seatRadius, 4 * ratio);
  for (const seat of seats) {
    const x = model.xs[seat]! * viewport.scale + viewport.offsetX;
    const y = model.ys[seat]! * viewport.scale + viewport.offsetY;
    if (x < -radius * 2 || y < -radius * 2 || x > viewport.widthPx + radius * 2 || y > viewport.heightPx + radius * 2)
      continue;
    drawOwnSeat(context, x, y, radius + 1.5 * ratio, ratio);
  }
}

function drawOwnSeat(context: CanvasRenderingContext2D, x: number, y: number, radius: number, ratio: number): void {
  context.beginPath();
  context.arc(x, y, radius, 0, Math.PI * 2);
  context.fillStyle = seatColors.selected;
  context.fill();
  context.beginPath();
  if (radius < 6 * ratio) {
    context.arc(x, y, Math.max(radius * 0.4, ratio), 0, Math.PI * 2);
    context.fillStyle = seatColors.selectedRing;
    context.fill();
    return;
  }
  context.moveTo(x - radius * 0.45, y + radius * 0.02);
  context.lineTo(x - radius * 0.12, y + radius * 0.35);
  context.lineTo(x + radius * 0.48, y - radius * 0.32);
  context.lineWidth = Math.max(1.5 * ratio, radius * 0.2);
  context.lineCap = 'round';
  context.lineJoin = 'round';
  context.strokeStyle = seatColors.selectedRing;
  context.stroke();
}

export type LegendSymbol = 'accessible' | 'companion' | 'blocked' | 'own';

/** A 20 × 20 CSS pixel picture of a map symbol for the legend (decorative: the legend's text says it). */
export function legendSymbol(symbol: LegendSymbol, tierColor = '#2f6fdb'): HTMLCanvasElement {
  const cssSize = 20;
  const ratio = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  const canvas = document.createElement('canvas');
  canvas.width = cssSize * ratio;
  canvas.height = cssSize * ratio;
  canvas.className = 'legend-symbol';
  canvas.setAttribute('aria-hidden', 'true');
  const context = canvas.getContext('2d');
  if (!context) return canvas;
  const scale = cssSize * ratio * 0.82;
  const center = (cssSize * ratio) / 2;
  const viewport: SeatViewport = {
    scale,
    offsetX: center,
    offsetY: center,
    pixelRatio: ratio,
    widthPx: canvas.width,
    heightPx: canvas.height,
  };
  const disc = (color: string) => {
    context.beginPath();
    context.arc(center, center, scale * seatRadius, 0, Math.PI * 2);
    context.fillStyle = color;
    context.fill();
  };
  if (symbol === 'own') {
    drawOwnSeat(context, center, center, scale * seatRadius + 1.5 * ratio, ratio);
  } else if (symbol === 'blocked') {
    disc(seatColors.blocked);
    const arm = scale * 0.2;
    context.beginPath();
    context.moveTo(center - arm, center - arm);
    context.lineTo(center + arm, center + arm);
    context.moveTo(center + arm, center - arm);
    context.lineTo(center - arm, center + arm);
    context.lineWidth = 1.5 * ratio;
    context.lineCap = 'round';
    context.strokeStyle = seatColors.blockedMark;
    context.stroke();
  } else {
    disc(tierColor);
    outlineSeat(context, symbol === 'accessible' ? 'square' : 'ring', center, center, viewport);
  }
  return canvas;
}
