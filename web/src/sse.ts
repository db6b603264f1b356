// Server-Sent Events read with fetch, for streams that need the Authorization header
// (EventSource cannot send it). Reconnects after a dropped connection, as EventSource does.
import { currentSession } from './session.ts';

export interface StreamMessage {
  event: string;
  data: string;
  id: string | null;
}

export interface StreamOptions {
  onMessage(message: StreamMessage): void;
  /** A refusal (4xx): the stream is not retried. */
  onRefused(status: number, body: string): void;
  onConnectionChange?(connected: boolean): void;
  retryMs?: number;
}

/** Opens the stream; returns a function that closes it. */
export function openAuthorizedStream(path: string, options: StreamOptions): () => void {
  const controller = new AbortController();
  const retryMs = options.retryMs ?? 2000;
  let lastEventId: string | null = null;

  const connect = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        const session = currentSession();
        if (session) headers.authorization = `Bearer ${session.token}`;
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const response = await fetch(path, { headers, signal: controller.signal, cache: 'no-store' });
        if (response.status >= 400 && response.status < 500) {
          options.onRefused(response.status, await response.text());
          return;
        }
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        options.onConnectionChange?.(true);
        await readMessages(response.body, (message) => {
          if (message.id !== null) lastEventId = message.id;
          options.onMessage(message);
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        void error; // dropped: retried below
      }
      options.onConnectionChange?.(false);
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  };
  void connect();
  return () => controller.abort();
}

async function readMessages(body: ReadableStream<Uint8Array>, onMessage: (message: StreamMessage) => void) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + (buffer[end] === '\r' ? 4 : 2));
      const message: StreamMessage = { event: 'message', data: '', id: null };
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') message.event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id') message.id = value;
      }
      if (data.length === 0) continue;
      message.data = data.join('\n');
      onMessage(message);
    }
  }
}
