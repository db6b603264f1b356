// The seat map's colours (web/src/seat-map/palette.ts) against WCAG 1.4.11 (non-text
// contrast, 3:1 for graphics a buyer needs): every seat state on the map's background, and
// held seats against every tier colour, so an available seat never looks held.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contrastRatio, relativeLuminance, seatColors, tierColorAt } from '../../web/src/seat-map/palette.ts';

const graphicsContrastMin = 3;
/** The ten fixed tier colours and twenty beyond them (golden-angle hues). */
const tierColors = Array.from({ length: 30 }, (_, index) => tierColorAt(index));

describe('seat colours', () => {
  test('when contrast is computed, then it follows WCAG 2 (black on white 21:1, a colour on itself 1:1)', () => {
    assert.equal(contrastRatio('#000000', '#ffffff'), 21);
    assert.equal(contrastRatio('#777777', '#777777'), 1);
    assert.equal(relativeLuminance('#ffffff'), 1);
    // Orange #e8871e on the old map background measured 2.47:1 (issue 22).
    assert.equal(contrastRatio('#e8871e', '#f6f7f9').toFixed(2), '2.47');
  });

  test('when a seat state is drawn on the map background, then it stands 3:1 apart', () => {
    const states = {
      held: seatColors.held,
      booked: seatColors.booked,
      selected: seatColors.selected,
      unknownTier: seatColors.unknownTier,
      accessible: seatColors.accessible,
      blockedMark: seatColors.blockedMark,
    };
    for (const [name, color] of Object.entries(states)) {
      const ratio = contrastRatio(color, seatColors.background);
      assert.ok(ratio >= graphicsContrastMin, `${name} ${color}: ${ratio.toFixed(2)}:1`);
    }
    for (const color of tierColors) {
      const ratio = contrastRatio(color, seatColors.background);
      assert.ok(ratio >= graphicsContrastMin, `tier ${color}: ${ratio.toFixed(2)}:1`);
    }
  });

  test('when a held seat sits beside an available one, then they stand 3:1 apart whatever the tier', () => {
    for (const color of [...tierColors, seatColors.unknownTier]) {
      const ratio = contrastRatio(color, seatColors.held);
      assert.ok(ratio >= graphicsContrastMin, `held ${seatColors.held} vs ${color}: ${ratio.toFixed(2)}:1`);
    }
  });

  test('when a seat is off sale, then its pale fill carries a cross 3:1 apart from it', () => {
    // The pale fill itself is meant to recede (an inactive seat); the cross says "not for sale".
    const ratio = contrastRatio(seatColors.blockedMark, seatColors.blocked);
    assert.ok(ratio >= graphicsContrastMin, `${ratio.toFixed(2)}:1`);
  });

  test('when the buyer selects a seat, then its white dot stands out of the dark disc', () => {
    assert.ok(contrastRatio(seatColors.selectedRing, seatColors.selected) >= graphicsContrastMin);
  });

  test('when tiers beyond the palette are coloured, then each is a distinct colour', () => {
    assert.equal(new Set(tierColors).size, tierColors.length);
  });
});
