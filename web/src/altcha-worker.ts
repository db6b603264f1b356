// A Web Worker that solves the waiting room's challenge (ALTCHA, altcha-lib's own worker
// protocol) off the page's thread, hashing with the browser's Web Crypto. Vite builds it
// as a file of its own under /assets: the page's CSP (script-src 'self') allows it.
import { handler } from 'altcha-lib/workers/shared';
import { deriveKey } from 'altcha-lib/algorithms/web/sha';

handler({ deriveKey });
