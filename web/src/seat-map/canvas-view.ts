// The seat map drawn on a canvas: zoom, pan, hover, click to select, keyboard focus.
//
// Speed with 100,000 seats: while a seat is a few pixels wide, seats are written straight
// into an ImageData buffer (work bounded by the canvas's pixels, not by path building);
// once they are large enough to be circles, only seats inside the viewport are drawn,
// batched into one path per colour. Every change only marks the view dirty; drawing
// happens once per animation frame. Hit-testing goes through a uniform grid.
import { seatLabel, seatPlace, seatPrice, seatStatusText } from './describe.ts';
import type { PriceTier, SeatChange, SeatMapModel, SeatStatus } from './model.ts';
import { packedColor, seatColors, tierColorAt } from './palette.ts';
import { SeatSelection, type SelectionCallbacks } from './selection.ts';
import { SeatSymbols, type SeatLayer, type SeatViewport } from './seat-symbols.ts';

export { tierColors, seatColors } from './palette.ts';

export interface SeatMapViewOptions extends SelectionCallbacks {
  model: SeatMapModel;
  /** Defaults to the model's tiers. */
  tiers?: readonly PriceTier[];
  /** Shared with a SeatListView; when given, its own callbacks and limit apply. */
  selection?: SeatSelection;
  /** Used when no selection is given (default 8). */
  maxSelectable?: number;
  /** false: look only (e.g. the organizer's preview). Default true. */
  selectable?: boolean;
}

/** Hooks for browser tests, on the container element as `seatMapTest`. */
export interface SeatMapTestApi {
  /** Centre of the seat in client (viewport) CSS pixels, as Playwright's mouse takes them; null for an unknown id. */
  seatCenter(seatId: string): { x: number; y: number } | null;
  statusOf(seatId: string): SeatStatus | null;
  selected(): string[];
  /** Zooms and pans so the seat is large enough to click, and draws. */
  reveal(seatId: string): void;
  /** The colour drawn on the seat ('#rrggbb', sampled clear of its number), after drawing any pending frame. */
  colorAt(seatId: string): string | null;
  stats(): { draws: number; lastDrawMs: number; maxDrawMs: number; seatPixels: number; mode: 'pixels' | 'paths' };
}

export type SeatMapContainer = HTMLElement & { seatMapTest?: SeatMapTestApi };

/**
 * Below this many CSS pixels per seat width, seats are written into an ImageData buffer
 * (squares while tiny, anti-aliased discs after): software rasterizing thousands of arcs
 * costs far more than copying their pixels. Above it few enough seats fit on screen to draw paths.
 */
const pixelModeCssScaleMax = 20;
/** Below this many device pixels per seat width, a seat is a solid square filling its cell. */
const squareScaleMax = 3;
/** Largest zoom, in CSS pixels per seat width. */
const zoomMaxCssPixels = 64;
const zoomStep = 1.5;
/** Arrow keys zoom in to at least this many CSS pixels per seat width. */
const keyboardScaleMinCss = 12;
/** A press that moves less than this (CSS pixels) is a click, not a drag. */
const dragThresholdCss = 4;
const seatRadius = 0.41;

interface Grid {
  minX: number;
  minY: number;
  cellSize: number;
  columns: number;
  rows: number;
  cellStart: Uint32Array;
  cellSeats: Uint32Array;
}

export class SeatMapView {
  readonly model: SeatMapModel;
  readonly selection: SeatSelection;
  private readonly container: SeatMapContainer;
  private readonly canvas: HTMLCanvasElement;
  private readonly context: CanvasRenderingContext2D;
  private readonly tooltip: HTMLDivElement;
  private readonly live: HTMLDivElement;
  private readonly toolbar: HTMLDivElement;
  private readonly ownsSelection: boolean;
  private readonly cleanups: (() => void)[] = [];
  private readonly tierCss: string[];
  /** Colour slot by (status << 8 | tier index), so the pixel loop does one lookup per seat. */
  private readonly slotOfCode: Uint8Array;
  /** Per slot: CSS colour and packed (ImageData) colour. Slots: tiers, unknown tier, held, booked, blocked. */
  private readonly slotCss: string[];
  private readonly slotPacked: Uint32Array;
  private stamp: {
    diameter: number;
    width: number;
    offsets: Int32Array;
    columns: Int32Array;
    rows: Int32Array;
    colors: Uint32Array[];
  } | null = null;
  /** Built on the first pointer move: not on the way to the first paint. */
  private grid: Grid | null = null;
  /** Shapes for wheelchair spaces, companion seats and blocked seats; then the page's layers. */
  private readonly symbols: SeatSymbols;
  private readonly layers = new Set<SeatLayer>();

  private selectable: boolean;
  private pixelRatio = 1;
  private widthPx = 0;
  private heightPx = 0;
  private image: ImageData | null = null;
  private pixels: Uint32Array | null = null;
  /** Device pixels per seat width, and where the plan's origin is, in device pixels. */
  private scale = 1;
  private offsetX = 0;
  private offsetY = 0;
  private fitted = false;
  private movedByUser = false;
  private frame = 0;
  private hoverSeat = -1;
  private focusSeat = -1;
  private hasFocus = false;
  /** The focus ring shows once the keyboard is used, as :focus-visible does. */
  private keyboardUsed = false;
  private press: {
    pointerId: number;
    x: number;
    y: number;
    offsetX: number;
    offsetY: number;
    dragging: boolean;
  } | null = null;
  private readonly stats = { draws: 0, lastDrawMs: 0, maxDrawMs: 0 };
  private visible = new Uint32Array(0);
  private destroyed = false;

  constructor(container: HTMLElement, options: SeatMapViewOptions) {
    this.model = options.model;
    this.container = container as SeatMapContainer;
    this.selectable = options.selectable ?? true;
    this.ownsSelection = !options.selection;
    this.selection =
      options.selection ??
      new SeatSelection(options.model, {
        maxSelectable: options.maxSelectable ?? 8,
        onSelectionChange: options.onSelectionChange,
        onSelectionLost: options.onSelectionLost,
        onLimit: options.onLimit,
      });
    const tiers = options.tiers ?? this.model.tiers;
    // Indexed like the model's tiers (tierOfSeat), coloured by the position in the tiers
    // given, so the colours match a legend drawn with tierColors(tiers).
    this.tierCss = this.model.tiers.map((tier, index) => {
      const position = tiers.findIndex((given) => given.id === tier.id);
      return tierColorAt(position >= 0 ? position : index);
    });
    this.tierCss.push(seatColors.unknownTier);
    this.slotCss = [...this.tierCss, seatColors.held, seatColors.booked, seatColors.blocked];
    this.slotPacked = Uint32Array.from(this.slotCss, packedColor);
    const unknownSlot = this.tierCss.length - 1;
    this.slotOfCode = new Uint8Array(4 << 8);
    this.slotOfCode.fill(unknownSlot, 0, 256);
    for (let tier = 0; tier < unknownSlot; tier += 1) this.slotOfCode[tier] = tier;
    this.slotOfCode.fill(unknownSlot + 1, 1 << 8, 2 << 8);
    this.slotOfCode.fill(unknownSlot + 2, 2 << 8, 3 << 8);
    this.slotOfCode.fill(unknownSlot + 3, 3 << 8, 4 << 8);
    this.symbols = new SeatSymbols(this.model);

    if (getComputedStyle(container).position === 'static') container.style.position = 'relative';
    this.canvas = document.createElement('canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'application');
    this.canvas.setAttribute('aria-roledescription', 'seat map');
    this.canvas.dataset.testid = 'seat-canvas';
    Object.assign(this.canvas.style, {
      display: 'block',
      width: '100%',
      height: '100%',
      minHeight: '320px',
      touchAction: 'none',
      background: seatColors.background,
    });
    const context = this.canvas.getContext('2d', { alpha: false });
    if (!context) throw new Error('no 2D canvas context');
    this.context = context;

    this.tooltip = document.createElement('div');
    this.tooltip.setAttribute('role', 'tooltip');
    Object.assign(this.tooltip.style, {
      position: 'absolute',
      pointerEvents: 'none',
      display: 'none',
      padding: '6px 8px',
      borderRadius: '6px',
      background: 'rgba(17, 24, 39, 0.92)',
      color: '#fff',
      font: '13px/1.35 system-ui, sans-serif',
      whiteSpace: 'pre',
      zIndex: '2',
    });

    this.live = document.createElement('div');
    this.live.setAttribute('aria-live', 'polite');
    this.live.setAttribute('role', 'status');
    Object.assign(this.live.style, {
      position: 'absolute',
      width: '1px',
      height: '1px',
      overflow: 'hidden',
      clip: 'rect(0 0 0 0)',
      clipPath: 'inset(50%)',
      whiteSpace: 'nowrap',
    });

    this.toolbar = document.createElement('div');
    Object.assign(this.toolbar.style, {
      position: 'absolute',
      top: '8px',
      right: '8px',
      display: 'flex',
      gap: '4px',
      zIndex: '1',
    });
    this.toolbar.append(
      this.button('+', 'Zoom in', () => this.zoomBy(zoomStep)),
      this.button('−', 'Zoom out', () => this.zoomBy(1 / zoomStep)),
      // The accessible name starts with the visible word, so "click Fit" works by voice.
      this.button('Fit', 'Fit: show the whole venue', () => this.fit()),
    );

    container.append(this.canvas, this.toolbar, this.tooltip, this.live);
    this.updateLabel();
    this.listen();
    this.cleanups.push(this.model.onStatusChange(() => this.invalidate()));
    this.cleanups.push(this.selection.subscribe(() => this.invalidate()));
    this.installTestApi();

    // Sized and fitted now, so the hooks answer at once; drawn by the resize observer's first
    // callback, which runs before the first paint (and gives the exact device-pixel size).
    const box = this.canvas.getBoundingClientRect();
    this.resize(Math.round(box.width * devicePixelRatio), Math.round(box.height * devicePixelRatio), false);
    // The id index (for live changes and hooks) and the hit-testing grid are built while the
    // page is idle, not on the first change or pointer move.
    const warm = () => {
      this.model.indexOf('');
      this.grid ??= buildGrid(this.model);
    };
    if ('requestIdleCallback' in window) {
      const idle = requestIdleCallback(warm, { timeout: 2000 });
      this.cleanups.push(() => cancelIdleCallback(idle));
    } else setTimeout(warm, 200);
  }

  selectedSeatIds(): string[] {
    return this.selection.ids();
  }

  clearSelection(): void {
    this.selection.clear();
  }

  setSelectable(selectable: boolean): void {
    this.selectable = selectable;
    this.updateLabel();
    this.invalidate();
  }

  /** The `changes` of a `seat` event. Taken selected seats are dropped (onSelectionLost). */
  applyChanges(changes: readonly SeatChange[]): void {
    this.model.applyChanges(changes);
  }

  /** Every status from a `snapshot` event (see decodeAvailability). */
  applySnapshot(statuses: Uint8Array): void {
    this.model.applySnapshot(statuses);
  }

  /** Draws over the seats every frame, under the hover and focus marks; returns the function that removes it. */
  addLayer(layer: SeatLayer): () => void {
    this.layers.add(layer);
    this.invalidate();
    return () => {
      this.layers.delete(layer);
      this.invalidate();
    };
  }

  /** Draws again in the next frame (a layer's content changed). */
  redraw(): void {
    this.invalidate();
  }

  /** Pans (and zooms in, when seats are tiny) so the seats are in view. */
  showSeats(seats: readonly number[]): void {
    if (seats.length === 0) return;
    const inView = seats.every((seat) => {
      const x = this.model.xs[seat]! * this.scale + this.offsetX;
      const y = this.model.ys[seat]! * this.scale + this.offsetY;
      return x >= 0 && y >= 0 && x <= this.widthPx && y <= this.heightPx;
    });
    if (inView && this.scale >= keyboardScaleMinCss * this.pixelRatio) return;
    this.scale = Math.max(this.scale, keyboardScaleMinCss * this.pixelRatio);
    const middle = seats[Math.floor(seats.length / 2)]!;
    this.centerOn(middle);
  }

  /** Shows the whole venue. */
  fit(): void {
    const { minX, minY, maxX, maxY } = this.model.bounds;
    const margin = 16 * this.pixelRatio;
    const width = Math.max(1, this.widthPx - 2 * margin);
    const height = Math.max(1, this.heightPx - 2 * margin);
    this.scale = Math.min(width / Math.max(1, maxX - minX), height / Math.max(1, maxY - minY));
    this.offsetX = this.widthPx / 2 - ((minX + maxX) / 2) * this.scale;
    this.offsetY = this.heightPx / 2 - ((minY + maxY) / 2) * this.scale;
    this.fitted = true;
    this.movedByUser = false;
    this.invalidate();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    cancelAnimationFrame(this.frame);
    for (const cleanup of this.cleanups) cleanup();
    if (this.ownsSelection) this.selection.destroy();
    this.canvas.remove();
    this.toolbar.remove();
    this.tooltip.remove();
    this.live.remove();
    if (this.container.seatMapTest) delete this.container.seatMapTest;
  }

  // ------------------------------------------------------------ events

  private listen(): void {
    const on = <K extends keyof HTMLElementEventMap>(
      target: HTMLElement,
      type: K,
      handler: (event: HTMLElementEventMap[K]) => void,
      options?: AddEventListenerOptions,
    ) => {
      target.addEventListener(type, handler, options);
      this.cleanups.push(() => target.removeEventListener(type, handler, options));
    };
    const canvas = this.canvas;
    on(canvas, 'pointerdown', (event) => {
      this.keyboardUsed = false;
      if (event.button !== 0) return;
      canvas.setPointerCapture(event.pointerId);
      this.press = {
        pointerId: event.pointerId,
        x: event.clientX,
        y: event.clientY,
        offsetX: this.offsetX,
        offsetY: this.offsetY,
        dragging: false,
      };
    });
    on(canvas, 'pointermove', (event) => {
      const press = this.press;
      if (press && press.pointerId === event.pointerId) {
        const dx = event.clientX - press.x;
        const dy = event.clientY - press.y;
        if (!press.dragging && Math.hypot(dx, dy) < dragThresholdCss) return;
        press.dragging = true;
        this.setHover(-1, event);
        this.offsetX = press.offsetX + dx * this.pixelRatio;
        this.offsetY = press.offsetY + dy * this.pixelRatio;
        this.movedByUser = true;
        this.clampView();
        this.invalidate();
        return;
      }
      this.setHover(this.seatAtClient(event.clientX, event.clientY), event);
    });
    const release = (event: PointerEvent) => {
      const press = this.press;
      if (!press || press.pointerId !== event.pointerId) return;
      this.press = null;
      if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
      if (!press.dragging && event.type === 'pointerup') {
        const seat = this.seatAtClient(event.clientX, event.clientY);
        if (seat >= 0) {
          this.focusSeat = seat;
          this.toggle(seat);
        }
      }
    };
    on(canvas, 'pointerup', release);
    on(canvas, 'pointercancel', release);
    on(canvas, 'pointerleave', (event) => {
      if (!this.press) this.setHover(-1, event);
    });
    on(
      canvas,
      'wheel',
      (event) => {
        event.preventDefault();
        const lines = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1;
        const factor = Math.exp(-event.deltaY * lines * 0.0015);
        const at = this.devicePoint(event.clientX, event.clientY);
        this.zoomAt(at.x, at.y, factor);
      },
      { passive: false },
    );
    on(canvas, 'keydown', (event) => this.onKey(event));
    on(canvas, 'focus', () => {
      this.hasFocus = true;
      // Focus without a press is keyboard (Tab) focus.
      if (!this.press) this.keyboardUsed = true;
      if (this.focusSeat < 0) this.focusSeat = this.firstFocusSeat();
      if (this.focusSeat >= 0) this.announce(this.describe(this.focusSeat));
      this.invalidate();
    });
    on(canvas, 'blur', () => {
      this.hasFocus = false;
      this.invalidate();
    });

    const observer = new ResizeObserver((entries) => {
      const entry = entries[entries.length - 1]!;
      const box = entry.devicePixelContentBoxSize?.[0];
      const width = box ? box.inlineSize : Math.round(entry.contentRect.width * devicePixelRatio);
      const height = box ? box.blockSize : Math.round(entry.contentRect.height * devicePixelRatio);
      this.resize(width, height);
    });
    try {
      observer.observe(canvas, { box: 'device-pixel-content-box' });
    } catch {
      observer.observe(canvas); // Safari has no device-pixel-content-box
    }
    this.cleanups.push(() => observer.disconnect());
  }

  private onKey(event: KeyboardEvent): void {
    const key = event.key;
    this.keyboardUsed = true;
    let handled = true;
    if (key === 'ArrowLeft' || key === 'ArrowRight') this.moveFocusInRow(key === 'ArrowLeft' ? -1 : 1);
    else if (key === 'ArrowUp' || key === 'ArrowDown') this.moveFocusToRow(key === 'ArrowUp' ? -1 : 1);
    else if (key === 'Home' || key === 'End') this.moveFocusInRow(key === 'Home' ? -Infinity : Infinity);
    else if (key === 'Enter' || key === ' ') {
      if (this.focusSeat >= 0) this.toggle(this.focusSeat);
    } else if (key === '+' || key === '=') this.zoomBy(zoomStep);
    else if (key === '-' || key === '_') this.zoomBy(1 / zoomStep);
    else if (key === '0') this.fit();
    else handled = false;
    if (handled) event.preventDefault();
  }

  private button(text: string, label: string, action: () => void): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = text;
    button.setAttribute('aria-label', label);
    button.title = label;
    Object.assign(button.style, {
      minWidth: '32px',
      height: '32px',
      padding: '0 8px',
      border: '1px solid #c7ccd4',
      borderRadius: '6px',
      background: '#fff',
      color: '#111827',
      font: '600 16px/1 system-ui, sans-serif',
      cursor: 'pointer',
    });
    button.addEventListener('click', action);
    return button;
  }

  // ------------------------------------------------------------ selection and focus

  private toggle(seat: number): void {
    const place = seatPlace(this.model, seat);
    if (!this.selectable) {
      this.announce(`${place}. Seats cannot be selected here.`);
      return;
    }
    const outcome = this.selection.toggle(seat);
    const count = `${this.selection.size} of ${this.selection.limit} seats selected.`;
    if (outcome === 'selected') this.announce(`Selected ${place}. ${count}`);
    else if (outcome === 'deselected') this.announce(`Removed ${place}. ${count}`);
    else if (outcome === 'limit') this.announce(`You can select at most ${this.selection.limit} seats.`);
    else this.announce(`${place} is ${seatStatusText(this.model, seat)}, not available.`);
    this.invalidate();
  }

  private firstFocusSeat(): number {
    const selected = this.selection.indexes()[0];
    if (selected !== undefined) return selected;
    const available = this.model.statuses.indexOf(0);
    return available >= 0 ? available : this.model.seatCount > 0 ? 0 : -1;
  }

  private moveFocusInRow(step: number): void {
    const seat = this.focusSeat < 0 ? this.firstFocusSeat() : this.focusSeat;
    if (seat < 0) return;
    const row = this.model.rowOfSeat[seat]!;
    const first = this.model.rowFirstSeat[row]!;
    const last = first + this.model.rowSeatCount[row]! - 1;
    this.setFocus(Math.min(last, Math.max(first, seat + step)));
  }

  /** To the nearest seat (on the plan) of the previous or next row, across sections. */
  private moveFocusToRow(step: number): void {
    const seat = this.focusSeat < 0 ? this.firstFocusSeat() : this.focusSeat;
    if (seat < 0) return;
    const row = this.model.rowOfSeat[seat]! + step;
    if (row < 0 || row >= this.model.rowLabels.length) return;
    const { xs, ys } = this.model;
    const first = this.model.rowFirstSeat[row]!;
    const end = first + this.model.rowSeatCount[row]!;
    let nearest = first;
    let nearestDistance = Infinity;
    for (let candidate = first; candidate < end; candidate += 1) {
      const distance = (xs[candidate]! - xs[seat]!) ** 2 + (ys[candidate]! - ys[seat]!) ** 2;
      if (distance < nearestDistance) {
        nearestDistance = distance;
        nearest = candidate;
      }
    }
    this.setFocus(nearest);
  }

  private setFocus(seat: number): void {
    this.focusSeat = seat;
    // Moving seat by seat over 2-pixel seats shows nothing: zoom to where a seat can be seen.
    if (this.scale < keyboardScaleMinCss * this.pixelRatio) {
      this.scale = keyboardScaleMinCss * this.pixelRatio;
      this.centerOn(seat);
    }
    this.keepInView(seat);
    this.announce(this.describe(seat));
    this.invalidate();
  }

  private describe(seat: number): string {
    const selected = this.selection.has(seat) ? ', selected' : '';
    return `${seatLabel(this.model, seat)}, ${seatStatusText(this.model, seat)}${selected}`;
  }

  private announce(text: string): void {
    // Same text twice in a row is still read out: replace the node, not just the text.
    this.live.replaceChildren(document.createTextNode(text));
  }

  private updateLabel(): void {
    this.canvas.setAttribute(
      'aria-label',
      this.selectable
        ? 'Seat map. Arrow keys move between seats, Enter or Space selects or deselects the seat, plus and minus zoom, 0 shows the whole venue.'
        : 'Seat map, preview only. Arrow keys move between seats, plus and minus zoom, 0 shows the whole venue.',
    );
  }

  private setHover(seat: number, event: { clientX: number; clientY: number }): void {
    if (seat !== this.hoverSeat) {
      this.hoverSeat = seat;
      this.canvas.style.cursor =
        seat >= 0 && this.selectable && (this.model.statuses[seat] === 0 || this.selection.has(seat))
          ? 'pointer'
          : 'default';
      this.invalidate();
    }
    if (seat < 0) {
      this.tooltip.style.display = 'none';
      return;
    }
    const status = this.selection.has(seat) ? 'selected' : seatStatusText(this.model, seat);
    this.tooltip.textContent = `${seatPlace(this.model, seat)}\n${seatPrice(this.model, seat)} · ${status}`;
    this.tooltip.style.display = 'block';
    const box = this.container.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    const width = this.tooltip.offsetWidth;
    const height = this.tooltip.offsetHeight;
    const left = x + 14 + width > box.width ? x - 14 - width : x + 14;
    const top = y + 14 + height > box.height ? y - 14 - height : y + 14;
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${Math.max(0, top)}px`;
  }

  // ------------------------------------------------------------ view transform

  private resize(width: number, height: number, drawNow = true): void {
    if (width <= 0 || height <= 0) return;
    const cssWidth = this.canvas.getBoundingClientRect().width;
    const ratio = cssWidth > 0 ? width / cssWidth : devicePixelRatio;
    if (width === this.widthPx && height === this.heightPx && ratio === this.pixelRatio) return;
    // Keep the plan point at the centre where it was, at the same size in CSS pixels.
    const centerX = (this.widthPx / 2 - this.offsetX) / this.scale;
    const centerY = (this.heightPx / 2 - this.offsetY) / this.scale;
    const cssScale = this.scale / this.pixelRatio;
    this.widthPx = width;
    this.heightPx = height;
    this.pixelRatio = ratio;
    this.canvas.width = width;
    this.canvas.height = height;
    this.image = null;
    this.pixels = null;
    if (!this.fitted || !this.movedByUser) {
      this.fit();
    } else {
      this.scale = cssScale * ratio;
      this.offsetX = width / 2 - centerX * this.scale;
      this.offsetY = height / 2 - centerY * this.scale;
      this.clampView();
    }
    // A resized canvas is blank until drawn: draw now, not a frame later.
    if (drawNow) this.draw();
    else this.invalidate();
  }

  private fitScale(): number {
    const { minX, minY, maxX, maxY } = this.model.bounds;
    return Math.min(this.widthPx / Math.max(1, maxX - minX), this.heightPx / Math.max(1, maxY - minY));
  }

  private zoomBy(factor: number): void {
    this.zoomAt(this.widthPx / 2, this.heightPx / 2, factor);
  }

  private zoomAt(x: number, y: number, factor: number): void {
    const scale = Math.min(zoomMaxCssPixels * this.pixelRatio, Math.max(this.fitScale() * 0.5, this.scale * factor));
    const applied = scale / this.scale;
    this.offsetX = x - (x - this.offsetX) * applied;
    this.offsetY = y - (y - this.offsetY) * applied;
    this.scale = scale;
    this.movedByUser = true;
    this.clampView();
    this.invalidate();
  }

  /** The centre of the viewport stays over the venue, so it cannot be lost off screen. */
  private clampView(): void {
    const { minX, minY, maxX, maxY } = this.model.bounds;
    const centerX = (this.widthPx / 2 - this.offsetX) / this.scale;
    const centerY = (this.heightPx / 2 - this.offsetY) / this.scale;
    const clampedX = Math.min(maxX, Math.max(minX, centerX));
    const clampedY = Math.min(maxY, Math.max(minY, centerY));
    this.offsetX += (centerX - clampedX) * this.scale;
    this.offsetY += (centerY - clampedY) * this.scale;
  }

  private keepInView(seat: number): void {
    const x = this.model.xs[seat]! * this.scale + this.offsetX;
    const y = this.model.ys[seat]! * this.scale + this.offsetY;
    const margin = 40 * this.pixelRatio;
    if (x >= margin && y >= margin && x <= this.widthPx - margin && y <= this.heightPx - margin) return;
    this.centerOn(seat);
  }

  private centerOn(seat: number): void {
    this.offsetX = this.widthPx / 2 - this.model.xs[seat]! * this.scale;
    this.offsetY = this.heightPx / 2 - this.model.ys[seat]! * this.scale;
    this.movedByUser = true;
    this.invalidate();
  }

  private devicePoint(clientX: number, clientY: number): { x: number; y: number } {
    const box = this.canvas.getBoundingClientRect();
    return { x: (clientX - box.left) * this.pixelRatio, y: (clientY - box.top) * this.pixelRatio };
  }

  private seatAtClient(clientX: number, clientY: number): number {
    const at = this.devicePoint(clientX, clientY);
    // At least a few pixels of reach, so tiny seats can still be pointed at.
    const reach = Math.max(0.5, (4 * this.pixelRatio) / this.scale);
    return hitTest(
      this.model,
      (this.grid ??= buildGrid(this.model)),
      (at.x - this.offsetX) / this.scale,
      (at.y - this.offsetY) / this.scale,
      reach,
    );
  }

  // ------------------------------------------------------------ drawing

  private invalidate(): void {
    if (this.frame !== 0 || this.destroyed) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    if (this.destroyed || this.widthPx === 0 || this.heightPx === 0) return;
    if (this.frame !== 0) {
      cancelAnimationFrame(this.frame);
      this.frame = 0;
    }
    const started = performance.now();
    const context = this.context;
    context.setTransform(1, 0, 0, 1, 0, 0);
    if (this.pixelMode()) this.drawSeatPixels();
    else {
      context.fillStyle = seatColors.background;
      context.fillRect(0, 0, this.widthPx, this.heightPx);
      this.drawSeatPaths();
    }
    const viewport: SeatViewport = {
      scale: this.scale,
      offsetX: this.offsetX,
      offsetY: this.offsetY,
      pixelRatio: this.pixelRatio,
      widthPx: this.widthPx,
      heightPx: this.heightPx,
    };
    this.symbols.draw(context, viewport);
    this.drawStage();
    this.drawSectionLabels();
    if (this.scale >= 14 * this.pixelRatio) this.drawRowLabels();
    for (const layer of this.layers) layer(context, viewport);
    this.drawMarks();
    const spent = performance.now() - started;
    this.stats.draws += 1;
    this.stats.lastDrawMs = spent;
    this.stats.maxDrawMs = Math.max(this.stats.maxDrawMs, spent);
  }

  private pixelMode(): boolean {
    return this.scale < pixelModeCssScaleMax * this.pixelRatio;
  }

  private drawSeatPixels(): void {
    const width = this.widthPx;
    const height = this.heightPx;
    if (!this.image || !this.pixels) {
      this.image = this.context.createImageData(width, height);
      this.pixels = new Uint32Array(this.image.data.buffer);
      this.stamp = null;
    }
    const pixels = this.pixels;
    pixels.fill(packedColor(seatColors.background));
    const { xs, ys, statuses, tierOfSeat, seatCount } = this.model;
    const scale = this.scale;
    const slotOfCode = this.slotOfCode;
    if (scale < squareScaleMax) {
      // Tiny seats fill their whole cell (rounded up: no moiré of gaps): a section reads as a block.
      const size = Math.max(1, Math.ceil(scale));
      const baseX = this.offsetX - size / 2;
      const baseY = this.offsetY - size / 2;
      const lastLeft = width - size;
      const lastTop = height - size;
      const colors = this.slotPacked;
      for (let seat = 0; seat < seatCount; seat += 1) {
        const left = Math.round(xs[seat]! * scale + baseX);
        const top = Math.round(ys[seat]! * scale + baseY);
        const color = colors[slotOfCode[(statuses[seat]! << 8) | tierOfSeat[seat]!]!]!;
        if (left >= 0 && top >= 0 && left <= lastLeft && top <= lastTop) {
          let at = top * width + left;
          for (let row = 0; row < size; row += 1, at += width) {
            for (let column = 0; column < size; column += 1) pixels[at + column] = color;
          }
        } else if (left < width && top < height && left + size > 0 && top + size > 0) {
          const x0 = Math.max(0, left);
          const x1 = Math.min(width, left + size);
          const y1 = Math.min(height, top + size);
          for (let y = Math.max(0, top); y < y1; y += 1) pixels.fill(color, y * width + x0, y * width + x1);
        }
      }
    } else {
      // Larger seats: a pre-blended anti-aliased disc per colour, copied pixel by pixel.
      const stamp = this.stampFor(scale * seatRadius * 2, width);
      const { offsets, columns, rows, colors } = stamp;
      const count = offsets.length;
      const size = stamp.diameter;
      const baseX = this.offsetX - size / 2;
      const baseY = this.offsetY - size / 2;
      const lastLeft = width - size;
      const lastTop = height - size;
      for (let seat = 0; seat < seatCount; seat += 1) {
        const left = Math.round(xs[seat]! * scale + baseX);
        const top = Math.round(ys[seat]! * scale + baseY);
        if (left >= 0 && top >= 0 && left <= lastLeft && top <= lastTop) {
          const color = colors[slotOfCode[(statuses[seat]! << 8) | tierOfSeat[seat]!]!]!;
          const at = top * width + left;
          for (let index = 0; index < count; index += 1) pixels[at + offsets[index]!] = color[index]!;
        } else if (left < width && top < height && left + size > 0 && top + size > 0) {
          const color = colors[slotOfCode[(statuses[seat]! << 8) | tierOfSeat[seat]!]!]!;
          for (let index = 0; index < count; index += 1) {
            const x = left + columns[index]!;
            const y = top + rows[index]!;
            if (x >= 0 && y >= 0 && x < width && y < height) pixels[y * width + x] = color[index]!;
          }
        }
      }
    }
    this.context.putImageData(this.image, 0, 0);
  }

  /** The disc's covered pixels (offsets in the buffer) and their colour per slot, blended over the background. */
  private stampFor(exactDiameter: number, width: number) {
    const diameter = Math.max(2, Math.round(exactDiameter));
    if (this.stamp && this.stamp.diameter === diameter && this.stamp.width === width) return this.stamp;
    const radius = exactDiameter / 2;
    const center = diameter / 2;
    const samples = 4;
    const coverage: number[] = [];
    const columns: number[] = [];
    const rows: number[] = [];
    for (let row = 0; row < diameter; row += 1) {
      for (let column = 0; column < diameter; column += 1) {
        let inside = 0;
        for (let sy = 0; sy < samples; sy += 1) {
          for (let sx = 0; sx < samples; sx += 1) {
            const dx = column + (sx + 0.5) / samples - center;
            const dy = row + (sy + 0.5) / samples - center;
            if (dx * dx + dy * dy <= radius * radius) inside += 1;
          }
        }
        if (inside === 0) continue;
        coverage.push(inside / (samples * samples));
        columns.push(column);
        rows.push(row);
      }
    }
    const background = hexChannels(seatColors.background);
    const colors = this.slotCss.map((css) => {
      const channels = hexChannels(css);
      return Uint32Array.from(coverage, (alpha) => {
        const [red, green, blue] = channels.map((channel, index) =>
          Math.round(channel * alpha + background[index]! * (1 - alpha)),
        );
        return ((255 << 24) | (blue! << 16) | (green! << 8) | red!) >>> 0;
      });
    });
    this.stamp = {
      diameter,
      width,
      offsets: Int32Array.from(columns, (column, index) => rows[index]! * width + column),
      columns: Int32Array.from(columns),
      rows: Int32Array.from(rows),
      colors,
    };
    return this.stamp;
  }

  private drawSeatPaths(): void {
    const context = this.context;
    const { xs, ys, statuses, tierOfSeat, seatCount } = this.model;
    const scale = this.scale;
    const offsetX = this.offsetX;
    const offsetY = this.offsetY;
    const radius = scale * seatRadius;
    const margin = radius + 1;
    const buckets = this.slotCss.length;
    const slotOfCode = this.slotOfCode;
    if (this.visible.length < seatCount) this.visible = new Uint32Array(seatCount);
    const visible = this.visible;
    const counts = new Uint32Array(buckets + 1);
    const bucketOf = (seat: number): number => slotOfCode[(statuses[seat]! << 8) | tierOfSeat[seat]!]!;
    // Counting sort of the visible seats by colour: one path and one fill per colour.
    let shown = 0;
    const seen: number[] = [];
    for (let seat = 0; seat < seatCount; seat += 1) {
      const x = xs[seat]! * scale + offsetX;
      const y = ys[seat]! * scale + offsetY;
      if (x < -margin || y < -margin || x > this.widthPx + margin || y > this.heightPx + margin) continue;
      seen.push(seat);
      counts[bucketOf(seat) + 1]! += 1;
      shown += 1;
    }
    for (let bucket = 1; bucket <= buckets; bucket += 1) counts[bucket]! += counts[bucket - 1]!;
    const next = counts.slice(0, buckets);
    for (const seat of seen) visible[next[bucketOf(seat)]!++] = seat;
    const css = this.slotCss;
    for (let bucket = 0; bucket < buckets; bucket += 1) {
      const start = counts[bucket]!;
      const end = counts[bucket + 1]!;
      if (start === end) continue;
      context.beginPath();
      for (let index = start; index < end; index += 1) {
        const seat = visible[index]!;
        const x = xs[seat]! * scale + offsetX;
        const y = ys[seat]! * scale + offsetY;
        context.moveTo(x + radius, y);
        context.arc(x, y, radius, 0, Math.PI * 2);
      }
      context.fillStyle = css[bucket]!;
      context.fill();
    }
    if (scale >= 22 * this.pixelRatio && shown <= 4000) this.drawSeatNumbers(seen);
  }

  private drawSeatNumbers(seats: readonly number[]): void {
    const context = this.context;
    const { xs, ys, numbers, statuses } = this.model;
    context.font = `600 ${Math.round(this.scale * 0.36)}px system-ui, sans-serif`;
    context.textAlign = 'center';
    context.textBaseline = 'middle';
    for (const seat of seats) {
      // A blocked seat is crossed out (seat-symbols.ts), not numbered.
      if (this.selection.has(seat) || statuses[seat] === 3) continue;
      context.fillStyle = statuses[seat] === 1 ? '#4b5260' : '#ffffff';
      context.fillText(
        String(numbers[seat]),
        xs[seat]! * this.scale + this.offsetX,
        ys[seat]! * this.scale + this.offsetY + 0.5,
      );
    }
  }

  private drawStage(): void {
    const context = this.context;
    const stage = this.model.stage;
    const x = stage.x * this.scale + this.offsetX;
    const y = stage.y * this.scale + this.offsetY;
    const width = stage.width * this.scale;
    const height = stage.height * this.scale;
    if (x > this.widthPx || y > this.heightPx || x + width < 0 || y + height < 0) return;
    context.fillStyle = seatColors.stage;
    context.beginPath();
    context.roundRect(x, y, width, height, Math.min(height / 4, 12 * this.pixelRatio));
    context.fill();
    const fontSize = Math.min(height * 0.45, 28 * this.pixelRatio, width / 5);
    if (fontSize < 8 * this.pixelRatio) return;
    context.fillStyle = '#ffffff';
    context.font = `600 ${Math.round(fontSize)}px system-ui, sans-serif`;
    context.textAlign = 'center';
    context.textBaseline = 'middle';
    context.fillText('STAGE', x + width / 2, y + height / 2);
  }

  /** Each section's name in front of its first row, turned with the section. */
  private drawSectionLabels(): void {
    const context = this.context;
    const fontSize = Math.min(16 * this.pixelRatio, Math.max(11 * this.pixelRatio, this.scale * 1.2));
    context.font = `600 ${Math.round(fontSize)}px system-ui, sans-serif`;
    context.textAlign = 'center';
    context.textBaseline = 'bottom';
    context.fillStyle = seatColors.label;
    for (const section of this.model.sections) {
      const widthPx = section.width * this.scale;
      if (widthPx < 24 * this.pixelRatio) continue;
      const frontY = -section.depth / 2 - 0.25;
      const x = section.centerX - frontY * Math.sin(section.angle);
      const y = section.centerY + frontY * Math.cos(section.angle);
      const screenX = x * this.scale + this.offsetX;
      const screenY = y * this.scale + this.offsetY;
      if (screenX < -widthPx || screenX > this.widthPx + widthPx || screenY < -50 || screenY > this.heightPx + 50)
        continue;
      let text = section.name;
      if (context.measureText(text).width > widthPx) {
        while (text.length > 1 && context.measureText(`${text}…`).width > widthPx) text = text.slice(0, -1);
        text = `${text}…`;
      }
      context.save();
      context.translate(screenX, screenY);
      context.rotate(section.angle);
      context.fillText(text, 0, 0);
      context.restore();
    }
  }

  /** Row labels left of each visible row's first seat. */
  private drawRowLabels(): void {
    const context = this.context;
    const { xs, ys, rowFirstSeat, rowLabels, rowSection } = this.model;
    context.font = `${Math.round(Math.min(this.scale * 0.45, 14 * this.pixelRatio))}px system-ui, sans-serif`;
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    context.fillStyle = seatColors.label;
    for (let row = 0; row < rowLabels.length; row += 1) {
      const first = rowFirstSeat[row]!;
      const x = xs[first]! * this.scale + this.offsetX;
      const y = ys[first]! * this.scale + this.offsetY;
      if (y < -this.scale || y > this.heightPx + this.scale || x < -this.scale || x > this.widthPx + 4 * this.scale)
        continue;
      const angle = this.model.sections[rowSection[row]!]!.angle;
      context.save();
      context.translate(x, y);
      context.rotate(angle);
      context.fillText(rowLabels[row]!, -this.scale * 0.7, 0);
      context.restore();
    }
  }

  /** Selected seats, the hovered seat and the keyboard focus, over the seats at any zoom. */
  private drawMarks(): void {
    const context = this.context;
    const ratio = this.pixelRatio;
    const radius = Math.max(this.scale * seatRadius, 4 * ratio);
    const point = (seat: number) => ({
      x: this.model.xs[seat]! * this.scale + this.offsetX,
      y: this.model.ys[seat]! * this.scale + this.offsetY,
    });
    for (const seat of this.selection.indexes()) {
      const { x, y } = point(seat);
      context.beginPath();
      context.arc(x, y, radius + 1.5 * ratio, 0, Math.PI * 2);
      context.fillStyle = seatColors.selected;
      context.fill();
      context.beginPath();
      context.arc(x, y, Math.max(radius * 0.45, 1.5 * ratio), 0, Math.PI * 2);
      context.fillStyle = seatColors.selectedRing;
      context.fill();
    }
    if (this.hoverSeat >= 0) {
      const { x, y } = point(this.hoverSeat);
      context.beginPath();
      context.arc(x, y, radius + 2 * ratio, 0, Math.PI * 2);
      context.lineWidth = 2 * ratio;
      context.strokeStyle = seatColors.selected;
      context.stroke();
    }
    if (this.hasFocus && this.keyboardUsed && this.focusSeat >= 0) {
      const { x, y } = point(this.focusSeat);
      context.beginPath();
      context.arc(x, y, radius + 4 * ratio, 0, Math.PI * 2);
      context.lineWidth = 3 * ratio;
      context.strokeStyle = seatColors.focus;
      context.stroke();
      context.beginPath();
      context.arc(x, y, radius + 6 * ratio, 0, Math.PI * 2);
      context.lineWidth = 1 * ratio;
      context.strokeStyle = seatColors.selected;
      context.stroke();
    }
  }

  // ------------------------------------------------------------ test hooks

  private installTestApi(): void {
    const seatOf = (seatId: string) => this.model.indexOf(seatId);
    this.container.seatMapTest = {
      seatCenter: (seatId) => {
        const seat = seatOf(seatId);
        if (seat < 0) return null;
        const box = this.canvas.getBoundingClientRect();
        return {
          x: box.left + (this.model.xs[seat]! * this.scale + this.offsetX) / this.pixelRatio,
          y: box.top + (this.model.ys[seat]! * this.scale + this.offsetY) / this.pixelRatio,
        };
      },
      statusOf: (seatId) => {
        const seat = seatOf(seatId);
        return seat < 0 ? null : this.model.statusOf(seat);
      },
      selected: () => this.selection.ids(),
      reveal: (seatId) => {
        const seat = seatOf(seatId);
        if (seat < 0) return;
        this.scale = Math.max(this.scale, 24 * this.pixelRatio);
        this.centerOn(seat);
        this.draw();
      },
      colorAt: (seatId) => {
        const seat = seatOf(seatId);
        if (seat < 0) return null;
        if (this.frame !== 0) this.draw();
        // Above the centre, clear of the seat number, inside the disc.
        const x = Math.round(this.model.xs[seat]! * this.scale + this.offsetX);
        const y = Math.round(this.model.ys[seat]! * this.scale + this.offsetY - this.scale * 0.3);
        if (x < 0 || y < 0 || x >= this.widthPx || y >= this.heightPx) return null;
        const [red, green, blue] = this.context.getImageData(x, y, 1, 1).data;
        return `#${[red, green, blue].map((channel) => (channel ?? 0).toString(16).padStart(2, '0')).join('')}`;
      },
      stats: () => ({
        ...this.stats,
        seatPixels: this.scale / this.pixelRatio,
        mode: this.pixelMode() ? 'pixels' : 'paths',
      }),
    };
  }
}

// ---------------------------------------------------------------- hit-testing grid

function hexChannels(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}

function buildGrid(model: SeatMapModel): Grid {
  const { minX, minY, maxX, maxY } = model.bounds;
  const area = Math.max(1, (maxX - minX) * (maxY - minY));
  // About four seats per occupied cell; never more than ~4M cells.
  const cellSize = Math.max(2, Math.sqrt(area / Math.max(1, model.seatCount)) * 2, Math.sqrt(area / 4_000_000));
  const columns = Math.max(1, Math.ceil((maxX - minX) / cellSize) + 1);
  const rows = Math.max(1, Math.ceil((maxY - minY) / cellSize) + 1);
  const cellOfSeat = new Uint32Array(model.seatCount);
  const cellStart = new Uint32Array(columns * rows + 1);
  for (let seat = 0; seat < model.seatCount; seat += 1) {
    const column = Math.min(columns - 1, Math.max(0, Math.floor((model.xs[seat]! - minX) / cellSize)));
    const row = Math.min(rows - 1, Math.max(0, Math.floor((model.ys[seat]! - minY) / cellSize)));
    const cell = row * columns + column;
    cellOfSeat[seat] = cell;
    cellStart[cell + 1]! += 1;
  }
  for (let cell = 1; cell < cellStart.length; cell += 1) cellStart[cell]! += cellStart[cell - 1]!;
  const fill = cellStart.slice(0, columns * rows);
  const cellSeats = new Uint32Array(model.seatCount);
  for (let seat = 0; seat < model.seatCount; seat += 1) cellSeats[fill[cellOfSeat[seat]!]!++] = seat;
  return { minX, minY, cellSize, columns, rows, cellStart, cellSeats };
}

/** The seat nearest to a plan point within reach (seat widths), or -1. */
function hitTest(model: SeatMapModel, grid: Grid, x: number, y: number, reach: number): number {
  const span = Math.ceil(reach / grid.cellSize);
  const column = Math.floor((x - grid.minX) / grid.cellSize);
  const row = Math.floor((y - grid.minY) / grid.cellSize);
  let best = -1;
  let bestDistance = reach * reach;
  for (let r = Math.max(0, row - span); r <= Math.min(grid.rows - 1, row + span); r += 1) {
    for (let c = Math.max(0, column - span); c <= Math.min(grid.columns - 1, column + span); c += 1) {
      const cell = r * grid.columns + c;
      for (let index = grid.cellStart[cell]!; index < grid.cellStart[cell + 1]!; index += 1) {
        const seat = grid.cellSeats[index]!;
        const distance = (model.xs[seat]! - x) ** 2 + (model.ys[seat]! - y) ** 2;
        if (distance <= bestDistance) {
          bestDistance = distance;
          best = seat;
        }
      }
    }
  }
  return best;
}
