// Seat colours: one per price tier for available seats, and fixed ones for the states
// the buyer cannot pick. The page draws its legend from the same values.
import type { PriceTier } from './model.ts';

/**
 * Told apart by hue; none is grey, red or near-black (taken by the states below). All of
 * one relative luminance (about 0.22): at least 3:1 against the map's background and
 * against held seats (WCAG 1.4.11, graphics), checked by test/unit/web-seat-colors.test.ts.
 */
const tierPalette = [
  '#4981e0', // blue
  '#c06e14', // orange
  '#2b9456', // green
  '#996bda', // purple
  '#138fa2', // teal
  '#9d7f1f', // gold
  '#d95284', // pink
  '#9e7c59', // brown
  '#6b8d23', // olive
  '#5778fa', // periwinkle
];
/** The luminance every tier colour is drawn at; beyond the palette too (tierColorAt). */
const tierLuminance = 0.225;

export const seatColors = {
  /** Dark, so it stands 3:1 apart from every tier colour and from the background. */
  held: '#33363c',
  /** Mid grey: 3:1 on the background, and apart from held and "your selection" (near-black, with a white dot). */
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
  // Beyond the palette: golden-angle hues keep neighbours apart, each at the palette's
  // luminance (a yellow is lighter than a blue at the same HSL lightness).
  const hue = Math.round((index * 137.508) % 360);
  let darker = 0;
  let lighter = 1;
  for (let step = 0; step < 20; step += 1) {
    const lightness = (darker + lighter) / 2;
    if (relativeLuminance(hslToHex(hue, 0.6, lightness)) < tierLuminance) darker = lightness;
    else lighter = lightness;
  }
  return hslToHex(hue, 0.6, darker);
}

/** WCAG 2 relative luminance of '#rrggbb' (0 black … 1 white). */
export function relativeLuminance(hex: string): number {
  const value = Number.parseInt(hex.slice(1), 16);
  const linear = (channel: number) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear((value >> 16) & 255) + 0.7152 * linear((value >> 8) & 255) + 0.0722 * linear(value & 255);
}

/** WCAG 2 contrast ratio of two colours (1 … 21). */
export function contrastRatio(first: string, second: string): number {
  const [lighter, darker] = [relativeLuminance(first), relativeLuminance(second)].sort((a, b) => b - a);
  return (lighter! + 0.05) / (darker! + 0.05);
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
