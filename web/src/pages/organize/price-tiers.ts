// The builder's price tiers: a name and a price each, one currency for all. Tier ids are made
// from the names; the seat map's sections pick their tier from these.
import type { Tier } from '../../api.ts';
import { h } from '../../dom.ts';
import type { FieldTargets } from './event-body.ts';
import { field, fieldId } from './fields.ts';

// Two-decimal currencies only: prices are typed in units and sent in cents.
const currencies = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'NZD', 'CHF', 'SEK', 'NOK', 'DKK'];

interface TierDraft {
  key: number;
  element: HTMLElement;
  name: HTMLInputElement;
  price: HTMLInputElement;
  idText: HTMLElement;
  remove: HTMLButtonElement;
}

function slug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 56);
}

/** Tier ids from tier names: "VIP Floor" -> "vip-floor", repeats get "-2", "-3". */
function tierIdsOf(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name, index) => {
    const base = slug(name) || `tier-${index + 1}`;
    let id = base;
    for (let suffix = 2; used.has(id); suffix += 1) id = `${base}-${suffix}`;
    used.add(id);
    return id;
  });
}

/**
 * The tiers fieldset. changed: the form's content changed (a tier was removed); tierSelects:
 * the sections' tier choosers, refilled when a tier is added, renamed or removed.
 */
export function createPriceTiers(parts: { changed: () => void; tierSelects: () => HTMLSelectElement[] }) {
  const tiers: TierDraft[] = [];
  let nextTierKey = 0;
  const currency = h('select', { name: 'currency' }, ...currencies.map((code) => h('option', { value: code }, code)));
  const tierList = h('div', { class: 'organize-tiers' });
  const addTierButton = h('button', { type: 'button' }, 'Add price tier');

  const refreshTiers = () => {
    const ids = tierIdsOf(tiers.map((tier) => tier.name.value.trim()));
    tiers.forEach((tier, index) => {
      tier.idText.textContent = `id: ${ids[index]}`;
      tier.remove.disabled = tiers.length === 1;
      tier.remove.setAttribute('aria-label', `Remove tier ${tier.name.value.trim() || index + 1}`);
    });
    for (const select of parts.tierSelects()) fillTierSelect(select);
    tierList
      .querySelectorAll<HTMLElement>('.organize-price-unit')
      .forEach((unit) => (unit.textContent = currency.value));
  };

  /** A section's tier chooser: one option per tier, valued by the tier's key; the choice is kept. */
  const fillTierSelect = (select: HTMLSelectElement) => {
    const chosen = select.value;
    select.replaceChildren(
      ...tiers.map((tier) => h('option', { value: String(tier.key) }, tier.name.value.trim() || '(unnamed tier)')),
    );
    if (tiers.some((tier) => String(tier.key) === chosen)) select.value = chosen;
  };

  const addTier = (tierName: string, price: string) => {
    const key = nextTierKey++;
    const nameInput = h('input', { name: 'tier-name', required: true, maxlength: 200, 'data-testid': 'tier-name' });
    nameInput.value = tierName;
    const priceInput = h('input', {
      type: 'number',
      name: 'tier-price',
      min: 0,
      step: 0.01,
      required: true,
      inputmode: 'decimal',
      'data-testid': 'tier-price',
    });
    priceInput.value = price;
    const remove = h('button', { type: 'button', class: 'organize-remove' }, 'Remove tier');
    const idText = h('span', { class: 'organize-hint organize-tier-id' });
    const element = h(
      'div',
      { class: 'organize-tier', 'data-testid': 'builder-tier' },
      field('Tier name', nameInput),
      h(
        'div',
        { class: 'field' },
        h(
          'label',
          { for: (priceInput.id = fieldId('organize')) },
          'Price (',
          h('span', { class: 'organize-price-unit' }, currency.value),
          ')',
        ),
        priceInput,
      ),
      idText,
      remove,
    );
    const tier: TierDraft = { key, element, name: nameInput, price: priceInput, idText, remove };
    remove.addEventListener('click', () => {
      if (tiers.length === 1) return;
      tiers.splice(tiers.indexOf(tier), 1);
      element.remove();
      refreshTiers();
      parts.changed();
    });
    nameInput.addEventListener('input', refreshTiers);
    tiers.push(tier);
    tierList.append(element);
    refreshTiers();
    return tier;
  };

  /** The tiers to send, the id each tier key became (the sections' choices), and where their errors go. */
  const read = (targets: FieldTargets) => {
    const ids = tierIdsOf(tiers.map((tier) => tier.name.value.trim()));
    const idOfKey = new Map(tiers.map((tier, index) => [String(tier.key), ids[index]!]));
    const priceTiers = tiers.map((tier, index): Tier => {
      targets.set(`/price_tiers/${index}/id`, tier.name);
      targets.set(`/price_tiers/${index}/name`, tier.name);
      targets.set(`/price_tiers/${index}/price_cents`, tier.price);
      targets.set(`/price_tiers/${index}/currency`, currency);
      const price = tier.price.value.trim() === '' ? NaN : Number(tier.price.value);
      return {
        id: ids[index]!,
        name: tier.name.value.trim(),
        price_cents: Math.round(price * 100),
        currency: currency.value,
      };
    });
    targets.set('/price_tiers', currency);
    return { priceTiers, idOfKey };
  };

  const element = h(
    'fieldset',
    {},
    h('legend', {}, 'Price tiers'),
    h('div', { class: 'organize-inline' }, field('Currency (all tiers)', currency)),
    tierList,
    addTierButton,
  );

  currency.addEventListener('change', refreshTiers);
  addTierButton.addEventListener('click', () => {
    addTier('', '').name.focus();
    parts.changed();
  });

  return { element, addTier, fillTierSelect, read };
}
