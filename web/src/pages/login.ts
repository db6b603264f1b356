// Demo login: pick a user name and a role; the demo server mints the token. When the
// service trusts a real identity provider there is no minting route: paste a token instead.
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
  );
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
          const { token } = await api<{ token: string }>('/v1/dev/token', {
            method: 'POST',
            body: { user_id: userInput.value.trim(), role: roleSelect.value as Role },
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
    h('p', { class: 'hint' }, 'Demo mode: choose any name. Buyers hold and pay for seats; organizers create events.'),
    h('label', { for: 'login-user' }, 'Your name'),
    userInput,
    h('label', { for: 'login-role' }, 'Role'),
    roleSelect,
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
