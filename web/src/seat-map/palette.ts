// Seat colours: one per price tier for available seats, and fixed ones for the states
// the buyer cannot pick. The page draws its legend from the same values.
import type { PriceTier } from './model.ts';

/** Told apart by hue and lightness; none is grey, red or near-black (taken by the states below). */
const tierPalette = [
  '#2f6fdb', // blue
  '#e8871e', // orange
  '#2e9e5b', // green
  '#8e5bd6', // purple
  '#16a3b8', // teal
  '#c9a227', // gold
  '#d6457a', // pink
  '#8d6e4f', // brown
  '#6b8e23', // olive
  '#5b7cfa', // periwinkle
];

export const seatColors = {
  held: '#b4b9c1',
  booked: '#5c6370',
  /** Off sale (an organizer's block): pale, crossed out when seats are large enough (seat-symbols.ts). */
  blocked: '#e1e3e8',
  blockedMark: '#6b7280',
  /** Wheelchair spaces and companion seats are outlined and badged in this blue (the access symbol's). */
  accessible: '#1f5fbf',
  /** Available seats of a section whose tier the event does not list. */
  unknownTier: '#7a8aa0',
  selected: '#111827',
  selectedRing: '#ffffff',
  focus: '#f59e0b',
  background: '#f6f7f9',
  stage: '#2b2f36',
  label: '#374151',
} as const;

/** A colour per tier id, in the tiers' order (the same event always gets the same colours). */
export function tierColors(tiers: readonly PriceTier[]): Record<string, string> {
  const colors: Record<string, string> = {};
  tiers.forEach((tier, index) => {
    colors[tier.id] = tierColorAt(index);
  });
  return colors;
}

export function tierColorAt(index: number): string {
  if (index < 0) return seatColors.unknownTier;
  const fixed = tierPalette[index];
  if (fixed) return fixed;
  // Beyond the palette: golden-angle hues keep neighbours apart.
  const hue = Math.round((index * 137.508) % 360);
  return hslToHex(hue, 0.6, 0.47);
}

/** '#rrggbb' → 0xAABBGGRR, the byte order of ImageData on little-endian machines. */
export function packedColor(hex: string): number {
  const value = Number.parseInt(hex.slice(1), 16);
  const red = (value >> 16) & 255;
  const green = (value >> 8) & 255;
  const blue = value & 255;
  return ((255 << 24) | (blue << 16) | (green << 8) | red) >>> 0;
}

function hslToHex(hue: number, saturation: number, lightness: number): string {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const part = chroma * (1 - Math.abs(((hue / 60) % 2) - 1));
  const base = lightness - chroma / 2;
  const [red, green, blue] =
    hue < 60
      ? [chroma, part, 0]
      : hue < 120
        ? [part, chroma, 0]
        : hue < 180
          ? [0, chroma, part]
          : hue < 240
            ? [0, part, chroma]
            : hue < 300
              ? [part, 0, chroma]
              : [chroma, 0, part];
  const hex = (channel: number) =>
    Math.round((channel + base) * 255)
      .toString(16)
      .padStart(2, '0');
  return `#${hex(red)}${hex(green)}${hex(blue)}`;
}
