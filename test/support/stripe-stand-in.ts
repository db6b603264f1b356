// A local stand-in for Stripe's HTTP API, enough of it for the official SDK: PaymentIntents
// (create, retrieve, confirm with payment_method expandable, cancel), PaymentMethods (retrieve:
// the test methods' cards and fingerprints, see simulatedCard) and Refunds (create, retrieve,
// list by payment), with
// form-encoded requests, Stripe's JSON objects and error format, Idempotency-Key replay, Bearer
// authentication, and webhook deliveries signed as Stripe signs them. It runs in the test
// process, so its ledger outlives the API server processes a test kills. The payments follow
// the model the built-in test provider runs (src/adapters/payments/stripe-simulation.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type FlushOptions,
  type StripeEventEnvelope,
  StripeEventOutbox,
  type WebhookDelivery,
  stripeId,
} from '../../src/adapters/payments/stripe-events.ts';
import {
  type IntentStatus,
  type LedgerIntent,
  type SimulatedRefund,
  SimulatedStripe,
  StripeApiFailure,
  simulatedPaymentMethod,
} from '../../src/adapters/payments/stripe-simulation.ts';

export const standInSecretKeyDefault = 'sk_test_boxoffice_stand_in';

export interface StripeStandInOptions {
  /** Signs the webhook deliveries (the endpoint's `whsec_…`). */
  webhookSecret: string;
  /** Where events are POSTed; without one they are held until setWebhookUrl and a flush. */
  webhookUrl?: string;
  /** The API key the stand-in accepts (`Authorization: Bearer …`). */
  secretKey?: string;
}

export interface StandInRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  replayed: boolean;
}

type FormValue = string | FormValue[] | { [key: string]: FormValue };
type Form = Record<string, FormValue>;

interface Answer {
  status: number;
  body: unknown;
}

interface StoredAnswer extends Answer {
  method: string;
  path: string;
  params: string;
}

/** A request refused before its endpoint ran: Stripe keeps no idempotent result for it. */
class RequestRefused extends StripeApiFailure {}

const bodyBytesMax = 1024 * 1024;
const idempotentAnswersRememberedMax = 100_000;
const requestsRememberedMax = 10_000;
const webhookTimeoutMs = 10_000;

export class StripeStandIn {
  readonly secretKey: string;
  url = '';
  port = 0;
  /** Added before every answer (the request is carried out at once, the answer is late): timeouts. */
  delayMs = 0;
  /** The delay of one request; replace it to delay some requests only (e.g. confirms). */
  delayMsFor: (method: string, path: string) => number = () => this.delayMs;
  readonly requests: StandInRequest[] = [];
  private readonly server: http.Server;
  private readonly stripe: SimulatedStripe;
  private readonly outbox: StripeEventOutbox;
  private readonly answers = new Map<string, StoredAnswer>();
  private webhookUrl: string | undefined;
  private refundFailuresLeft = 0;
  /** While true, PaymentMethod reads answer HTTP 500 api_error (the provider down for them). */
  failPaymentMethodReads = false;

  constructor(options: StripeStandInOptions) {
    this.secretKey = options.secretKey ?? standInSecretKeyDefault;
    this.webhookUrl = options.webhookUrl;
    this.outbox = new StripeEventOutbox(options.webhookSecret, (payload, signature) => this.post(payload, signature));
    this.stripe = new SimulatedStripe({
      bankUrlFor: (intentId) => `${this.url}/3d_secure_2/authenticate/${intentId}`,
      publish: (event) => this.outbox.publish(event),
    });
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { type: 'api_error', message: String(error) } }));
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  /** The buyer's bank ends a payment waiting on it (3-D Secure or processing); returns its status. */
  complete(paymentIntentId: string, outcome: 'succeeded' | 'failed'): IntentStatus {
    return this.stripe.complete(paymentIntentId, outcome).status;
  }

  /** The status new refunds start in; `pending` ones end with completeRefund. */
  get refundStatus(): 'succeeded' | 'pending' {
    return this.stripe.refundStatus;
  }
  set refundStatus(status: 'succeeded' | 'pending') {
    this.stripe.refundStatus = status;
  }

  completeRefund(refundId: string, outcome: 'succeeded' | 'failed'): void {
    this.stripe.completeRefund(refundId, outcome);
  }

  /** The next `count` refund requests answer HTTP 500 api_error before doing anything. */
  failRefunds(count: number): void {
    this.refundFailuresLeft = count;
  }

  setWebhookUrl(url: string | undefined): void {
    this.webhookUrl = url;
  }

  pauseWebhooks(): void {
    this.outbox.pause();
  }

  resumeWebhooks(): Promise<void> {
    return this.outbox.resume();
  }

  /** Events held: paused, or not delivered after their retries. */
  pendingWebhooks(): StripeEventEnvelope[] {
    return this.outbox.pending();
  }

  flushWebhooks(options?: FlushOptions): Promise<void> {
    return this.outbox.flush(options);
  }

  webhooksSettled(): Promise<void> {
    return this.outbox.settled();
  }

  get webhookDeliveries(): readonly WebhookDelivery[] {
    return this.outbox.deliveries;
  }

  /** Every payment, oldest first, with what was refunded of it. */
  charges(): LedgerIntent[] {
    return this.stripe.ledger();
  }

  refunds(): SimulatedRefund[] {
    return this.stripe.allRefunds();
  }

  async close(): Promise<void> {
    this.outbox.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const requestId = stripeId('req');
    const method = request.method ?? 'GET';
    const url = new URL(request.url ?? '/', this.url);
    const idempotencyKey = method === 'POST' ? headerOf(request, 'idempotency-key') : null;
    const body = await readBody(request);
    let answer: Answer & { replayed?: boolean };
    try {
      answer = this.answer(method, url, body, headerOf(request, 'authorization'), idempotencyKey, requestId);
    } catch (error) {
      if (!(error instanceof StripeApiFailure)) throw error;
      answer = { status: error.httpStatus, body: { error: error.error } };
    }
    this.remember({ method, path: url.pathname, idempotencyKey, status: answer.status, replayed: !!answer.replayed });
    const delayMs = this.delayMsFor(method, url.pathname);
    if (delayMs > 0) await sleep(delayMs);
    if (response.destroyed) return; // the client gave up waiting (its timeout)
    response.writeHead(answer.status, {
      'content-type': 'application/json',
      'request-id': requestId,
      ...(idempotencyKey !== null && { 'idempotency-key': idempotencyKey }),
      ...(answer.replayed && { 'idempotent-replayed': 'true' }),
    });
    response.end(JSON.stringify(answer.body));
  }

  /** Authenticates, replays or refuses by idempotency key, and runs the endpoint. */
  private answer(
    method: string,
    url: URL,
    body: string,
    authorization: string | null,
    idempotencyKey: string | null,
    requestId: string,
  ): Answer & { replayed?: boolean } {
    if (authorization !== `Bearer ${this.secretKey}`) {
      return {
        status: 401,
        body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } },
      };
    }
    const form = parseForm(method === 'GET' ? url.search.slice(1) : body);
    const params = canonical(form);
    if (idempotencyKey !== null) {
      const stored = this.answers.get(idempotencyKey);
      if (stored) {
        if (stored.method !== method || stored.path !== url.pathname || stored.params !== params) {
          return {
            status: 400,
            body: {
              error: {
                type: 'idempotency_error',
                message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
              },
            },
          };
        }
        return { status: stored.status, body: stored.body, replayed: true };
      }
    }
    let answer: Answer;
    try {
      answer = { status: 200, body: this.route(method, url.pathname, form, { requestId, idempotencyKey }) };
    } catch (error) {
      if (error instanceof RequestRefused || !(error instanceof StripeApiFailure)) throw error;
      if (error.error.code === 'resource_missing') throw error;
      answer = { status: error.httpStatus, body: { error: error.error } };
    }
    // Stripe keeps the result of every request its endpoint ran, failures included.
    if (idempotencyKey !== null) {
      if (this.answers.size >= idempotentAnswersRememberedMax) this.answers.delete(this.answers.keys().next().value!);
      this.answers.set(idempotencyKey, { ...answer, method, path: url.pathname, params });
    }
    return answer;
  }

  private route(
    method: string,
    path: string,
    form: Form,
    origin: { requestId: string; idempotencyKey: string | null },
  ): unknown {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'v1' && parts[1] === 'payment_intents') {
      if (method === 'POST' && parts.length === 2) return this.createIntent(form);
      const id = parts[2];
      if (id !== undefined && method === 'GET' && parts.length === 3) {
        allowOnly(form, []);
        return this.existingIntent(id);
      }
      if (id !== undefined && method === 'POST' && parts.length === 4 && parts[3] === 'confirm') {
        allowOnly(form, ['payment_method', 'return_url', 'expand']);
        this.existingIntent(id);
        const expand = form.expand === undefined ? [] : form.expand;
        if (!Array.isArray(expand) || expand.some((path) => path !== 'payment_method')) {
          throw invalid('expand', 'Only payment_method can be expanded here (the stand-in).');
        }
        const intent = this.stripe.confirm(id, requiredString(form, 'payment_method'), origin);
        if (expand.length === 0 || intent.payment_method === null) return intent;
        return { ...intent, payment_method: simulatedPaymentMethod(intent.payment_method) };
      }
      if (id !== undefined && method === 'POST' && parts.length === 4 && parts[3] === 'cancel') {
        allowOnly(form, ['cancellation_reason']);
        this.existingIntent(id);
        return this.stripe.cancel(id, origin);
      }
    }
    if (parts[0] === 'v1' && parts[1] === 'payment_methods' && method === 'GET' && parts.length === 3) {
      allowOnly(form, []);
      if (this.failPaymentMethodReads) {
        throw new RequestRefused(500, {
          type: 'api_error',
          message: 'An unknown error occurred (the stand-in was told to).',
        });
      }
      const paymentMethod = simulatedPaymentMethod(decodeURIComponent(parts[2]!));
      if (!paymentMethod) throw missing('PaymentMethod', decodeURIComponent(parts[2]!));
      return paymentMethod;
    }
    if (parts[0] === 'v1' && parts[1] === 'refunds') {
      if (method === 'POST' && parts.length === 2) return this.createRefund(form, origin);
      if (method === 'GET' && parts.length === 2) {
        allowOnly(form, ['payment_intent', 'limit']);
        const paymentIntent = requiredString(form, 'payment_intent');
        const limit = form.limit === undefined ? 10 : integer(form, 'limit');
        const data = this.stripe.refundsOf(paymentIntent).slice(0, limit);
        return { object: 'list', data, has_more: false, url: '/v1/refunds' };
      }
      const id = parts[2];
      if (id !== undefined && method === 'GET' && parts.length === 3) {
        allowOnly(form, []);
        const refund = this.stripe.refund(id);
        if (!refund) throw missing('refund', id);
        return refund;
      }
    }
    throw new RequestRefused(404, {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${method}: ${path}).`,
    });
  }

  private createIntent(form: Form): unknown {
    if (form.payment_method_types !== undefined) {
      throw new RequestRefused(400, {
        type: 'invalid_request_error',
        code: 'payment_method_types_no_longer_supported',
        param: 'payment_method_types',
        message: 'payment_method_types is no longer supported on this API version; use allowed_payment_method_types.',
      });
    }
    allowOnly(form, ['amount', 'currency', 'description', 'metadata', 'allowed_payment_method_types']);
    const amount = integer(form, 'amount');
    if (amount < 1) throw invalid('amount', 'This value must be greater than or equal to 1.');
    const currency = requiredString(form, 'currency').toLowerCase();
    if (!/^[a-z]{3}$/.test(currency)) throw invalid('currency', `Invalid currency: ${currency}.`);
    const description = form.description === undefined ? null : requiredString(form, 'description');
    return this.stripe.createIntent({ amount, currency, description, metadata: metadataOf(form) });
  }

  private createRefund(form: Form, origin: { requestId: string; idempotencyKey: string | null }): unknown {
    if (this.refundFailuresLeft > 0) {
      this.refundFailuresLeft -= 1;
      throw new RequestRefused(500, {
        type: 'api_error',
        message: 'An unknown error occurred (the stand-in was told to fail this refund).',
      });
    }
    allowOnly(form, ['payment_intent', 'amount', 'metadata', 'reason']);
    const paymentIntent = requiredString(form, 'payment_intent');
    const amount = form.amount === undefined ? undefined : integer(form, 'amount');
    return this.stripe.createRefund({ paymentIntent, amount, metadata: metadataOf(form) }, origin);
  }

  private existingIntent(id: string) {
    const intent = this.stripe.intent(id);
    if (!intent) throw missing('payment_intent', id);
    return intent;
  }

  private async post(payload: string, signature: string): Promise<{ ok: boolean; statusCode?: number }> {
    const target = this.webhookUrl;
    if (target === undefined) throw new Error('no webhook endpoint is set');
    const statusCode = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        target,
        {
          method: 'POST',
          agent: false,
          timeout: webhookTimeoutMs,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'stripe-signature': signature,
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
          response.on('error', reject);
        },
      );
      request.on('timeout', () => request.destroy(new Error('webhook endpoint timed out')));
      request.on('error', reject);
      request.end(payload);
    });
    return { ok: statusCode >= 200 && statusCode < 300, statusCode };
  }

  private remember(entry: StandInRequest): void {
    if (this.requests.length >= requestsRememberedMax) this.requests.shift();
    this.requests.push(entry);
  }
}

export async function startStripeStandIn(options: StripeStandInOptions): Promise<StripeStandIn> {
  const standIn = new StripeStandIn(options);
  await standIn.listen();
  return standIn;
}

function headerOf(request: http.IncomingMessage, name: string): string | null {
  const value = request.headers[name];
  return typeof value === 'string' ? value : null;
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > bodyBytesMax) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Stripe's form encoding, as the SDK writes it: `metadata[k]=v`, `list[0]=a`. */
function parseForm(text: string): Form {
  const root: Form = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.match(/^[^[\]]+|\[[^[\]]*\]/g)?.map((part) => part.replace(/^\[|\]$/g, ''));
    if (!path || path.join('') !== key.replace(/[[\]]/g, '') || path.some(isUnsafeKey)) {
      throw invalid(key, `Invalid parameter name: ${key}`);
    }
    let node: Record<string, FormValue> = root;
    path.forEach((part, index) => {
      if (index === path.length - 1) {
        node[part] = value;
        return;
      }
      const next = node[part];
      if (typeof next === 'string' || Array.isArray(next)) throw invalid(key, `Invalid parameter: ${key}`);
      node = next ?? (node[part] = {});
    });
  }
  return withArrays(root) as Form;
}

function isUnsafeKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/** Objects keyed 0, 1, 2… become arrays. */
function withArrays(value: FormValue): FormValue {
  if (typeof value === 'string' || Array.isArray(value)) return value;
  const entries = Object.entries(value).map(([key, inner]) => [key, withArrays(inner)] as const);
  const indexed = entries.length > 0 && entries.every(([key], index) => key === String(index));
  return indexed ? entries.map(([, inner]) => inner) : Object.fromEntries(entries);
}

function canonical(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key]!)}`).join(',')}}`;
}

function allowOnly(form: Form, names: readonly string[]): void {
  for (const name of Object.keys(form)) {
    if (!names.includes(name)) {
      throw new RequestRefused(400, {
        type: 'invalid_request_error',
        code: 'parameter_unknown',
        param: name,
        message: `Received unknown parameter: ${name}`,
      });
    }
  }
}

function requiredString(form: Form, name: string): string {
  const value = form[name];
  if (value === undefined) {
    throw new RequestRefused(400, {
      type: 'invalid_request_error',
      code: 'parameter_missing',
      param: name,
      message: `Missing required param: ${name}.`,
    });
  }
  if (typeof value !== 'string') throw invalid(name, `Invalid string: ${name}`);
  return value;
}

function integer(form: Form, name: string): number {
  const value = requiredString(form, name);
  if (!/^-?\d+$/.test(value)) {
    throw new RequestRefused(400, {
      type: 'invalid_request_error',
      code: 'parameter_invalid_integer',
      param: name,
      message: `Invalid integer: ${value}`,
    });
  }
  return Number(value);
}

function metadataOf(form: Form): Record<string, string> {
  const metadata = form.metadata;
  if (metadata === undefined || metadata === '') return {};
  if (typeof metadata === 'string' || Array.isArray(metadata)) throw invalid('metadata', 'Invalid object');
  const entries = Object.entries(metadata);
  if (entries.some(([, value]) => typeof value !== 'string')) throw invalid('metadata', 'Invalid metadata value');
  return Object.fromEntries(entries) as Record<string, string>;
}

function invalid(param: string, message: string): RequestRefused {
  return new RequestRefused(400, { type: 'invalid_request_error', code: 'parameter_invalid', param, message });
}

function missing(kind: string, id: string): RequestRefused {
  return new RequestRefused(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    param: 'id',
    message: `No such ${kind}: '${id}'`,
  });
}
