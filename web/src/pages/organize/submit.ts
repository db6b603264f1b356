// The builder's submit: the form's body sent to POST /v1/events, as a draft or published,
// and what came of it (a link to the new event, or the errors by the fields).
import { api } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import type { PageContext } from '../../main.ts';
import type { CreateEventBody, FieldTargets } from './event-body.ts';

type Status = CreateEventBody['status'];

/**
 * The two submit buttons and the outcome line, and the form's submit handler. read: the body
 * to send and where its errors go; preview and errors: shown from the body sent.
 */
export function createSubmit(
  context: PageContext,
  form: HTMLFormElement,
  parts: {
    read: (status: Status) => { body: CreateEventBody; targets: FieldTargets };
    preview: { show: (body: CreateEventBody) => void };
    errors: { clear: () => void; show: (error: unknown, body: CreateEventBody, targets: FieldTargets) => void };
    onCreated: () => void;
  },
) {
  const { read, preview, errors, onCreated } = parts;
  const outcome = h('p', { class: 'organize-outcome', role: 'status', 'data-testid': 'builder-outcome' });
  const draftButton = h(
    'button',
    { type: 'submit', 'data-status': 'draft', 'data-testid': 'create-draft' },
    'Create as draft',
  );
  const publishButton = h(
    'button',
    { type: 'submit', class: 'primary', 'data-status': 'published', 'data-testid': 'create-publish' },
    'Create and publish',
  );

  let busy = false;
  const submit = async (status: 'draft' | 'published') => {
    if (busy) return;
    errors.clear();
    outcome.replaceChildren();
    const { body, targets } = read(status);
    preview.show(body);
    busy = true;
    draftButton.disabled = publishButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const created = await api<{ event_id: string; seat_count: number; status: string }>('/v1/events', {
        method: 'POST',
        body,
      });
      const what = created.status === 'draft' ? 'saved as a draft' : 'published';
      context.notify(`“${body.name}” ${what} with ${created.seat_count.toLocaleString()} seats.`, 'success');
      replace(
        outcome,
        `“${body.name}” ${what} with ${created.seat_count.toLocaleString()} seats. `,
        h('a', { href: `/events/${encodeURIComponent(created.event_id)}`, 'data-link': true }, 'Open its page'),
      );
      onCreated();
    } catch (error) {
      errors.show(error, body, targets);
    } finally {
      busy = false;
      draftButton.disabled = publishButton.disabled = false;
      form.removeAttribute('aria-busy');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Enter in a field submits with the first button, the draft: publishing takes a click.
    const submitter = (event as SubmitEvent).submitter;
    void submit(submitter?.dataset.status === 'published' ? 'published' : 'draft');
  });

  return { actions: h('div', { class: 'actions organize-actions' }, draftButton, publishButton), outcome };
}
