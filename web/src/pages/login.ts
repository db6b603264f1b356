// Demo login: pick a user name and a role (door staff also name the events they check in
// for), and an e-mail address for the booking mails (<name>@example.com unless one is
// given); the demo server mints the token. When the service trusts a real identity provider
// there is no minting route: paste a token instead.
import { api, ApiError, describeError } from '../api.ts';
import { h, replace } from '../dom.ts';
import type { PageContext } from '../main.ts';
import { signIn, type Role } from '../session.ts';

export function renderLogin(context: PageContext) {
  context.setTitle('Sign in');
  const next = context.query.get('next');
  const destination = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
  const error = h('p', { class: 'form-error', role: 'alert' });
  const userInput = h('input', {
    id: 'login-user',
    name: 'user',
    required: true,
    maxlength: 64,
    // A pattern is compiled with the v flag: the hyphen must be escaped inside a class.
    pattern: '[A-Za-z0-9._@\\-]+',
    title: 'letters, digits and . _ @ -',
    autocomplete: 'username',
    placeholder: 'e.g. alice',
  });
  const roleSelect = h(
    'select',
    { id: 'login-role', name: 'role' },
    h('option', { value: 'customer' }, 'Buyer'),
    h('option', { value: 'organizer' }, 'Organizer'),
    h('option', { value: 'staff' }, 'Door staff'),
  );
  const emailInput = h('input', {
    id: 'login-email',
    name: 'email',
    type: 'email',
    maxlength: 254,
    autocomplete: 'email',
    'aria-describedby': 'login-email-hint',
  });
  const emailHint = h('p', { class: 'hint field-hint', id: 'login-email-hint' });
  const eventsInput = h('input', {
    id: 'login-events',
    name: 'events',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'event IDs, separated by commas',
    'aria-describedby': 'login-events-hint',
  });
  const eventsField = h(
    'div',
    { class: 'login-staff', hidden: true },
    h('label', { for: 'login-events' }, 'Events you check tickets in for'),
    eventsInput,
    h(
      'p',
      { class: 'hint field-hint', id: 'login-events-hint' },
      'The organizer’s scanner page shows each event’s ID.',
    ),
  );
  const showEmailDefault = () => {
    const fallback = defaultEmail(userInput.value.trim());
    emailInput.placeholder = fallback ?? 'you@example.com';
    emailHint.textContent = `Your booking confirmations go here${fallback ? `; empty: ${fallback}` : ''}.`;
  };
  userInput.addEventListener('input', showEmailDefault);
  roleSelect.addEventListener('change', () => (eventsField.hidden = roleSelect.value !== 'staff'));
  showEmailDefault();
  const finish = (token: string) => {
    if (!signIn(token)) throw new Error('that token has no user (sub claim)');
    context.navigate(destination, { replace: true });
  };
  const form = h(
    'form',
    {
      class: 'panel form',
      'aria-labelledby': 'login-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          const userId = userInput.value.trim();
          const role = roleSelect.value as Role;
          const email = emailInput.value.trim() || defaultEmail(userId);
          const events = eventsInput.value.split(/[\s,]+/).filter(Boolean);
          const { token } = await api<{ token: string }>('/v1/dev/token', {
            method: 'POST',
            body: {
              user_id: userId,
              role,
              ...(email ? { email } : {}),
              ...(role === 'staff' ? { events } : {}),
            },
          });
          finish(token);
        } catch (failure) {
          error.textContent =
            failure instanceof ApiError && failure.status === 404
              ? 'This server uses a real identity provider: paste a token below.'
              : describeError(failure);
        }
      },
    },
    h('h1', { id: 'login-title' }, 'Sign in'),
    h(
      'p',
      { class: 'hint' },
      'Demo mode: choose any name. Buyers hold and pay for seats; organizers create events; door staff check tickets in.',
    ),
    h('label', { for: 'login-user' }, 'Your name'),
    userInput,
    h('label', { for: 'login-role' }, 'Role'),
    roleSelect,
    eventsField,
    h('label', { for: 'login-email' }, 'E-mail (optional)'),
    emailInput,
    emailHint,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    error,
  );
  const tokenInput = h('textarea', { id: 'login-token', rows: 3, placeholder: 'eyJhbGciOi…' });
  const tokenForm = h(
    'form',
    {
      class: 'panel form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        try {
          finish(tokenInput.value.trim());
        } catch (failure) {
          error.textContent = describeError(failure);
        }
      },
    },
    h('h2', {}, 'Or use a token'),
    h('label', { for: 'login-token' }, 'Bearer token (JWT) from your identity provider'),
    tokenInput,
    h('button', { type: 'submit' }, 'Use this token'),
  );
  replace(
    context.root,
    h('div', { class: 'narrow' }, form, h('details', {}, h('summary', {}, 'I have a token'), tokenForm)),
  );
  userInput.focus();
}

/** A demo address for a name that makes a valid one (an address typed as the name is kept). */
function defaultEmail(userId: string): string | null {
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(userId)) return userId;
  return /^[A-Za-z0-9_-]+([.][A-Za-z0-9_-]+)*$/.test(userId) ? `${userId}@example.com` : null;
}
