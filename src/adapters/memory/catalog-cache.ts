// Hot catalog answers in process memory, for one process (the embedded default).
import type { CatalogCache } from '../../app/ports/catalog.ts';
import type { Clock } from '../../app/ports/clock.ts';

export class MemoryCatalogCache implements CatalogCache {
  private readonly entries = new Map<string, { value: string; freshUntilMs: number }>();
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly maxEntries = 1_000,
  ) {}

  async get(key: string): Promise<{ value: string | null; generation: string }> {
    const generation = String(this.generation);
    const entry = this.entries.get(key);
    if (!entry) return { value: null, generation };
    if (entry.freshUntilMs > this.clock.nowMs()) return { value: entry.value, generation };
    this.entries.delete(key);
    return { value: null, generation };
  }

  async set(key: string, value: string, generation: string): Promise<void> {
    if (generation !== String(this.generation)) return; // computed before the catalog changed
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, freshUntilMs: this.clock.nowMs() + this.ttlMs });
  }

  async invalidate(): Promise<void> {
    this.generation += 1;
    this.entries.clear();
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}
