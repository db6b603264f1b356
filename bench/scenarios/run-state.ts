// What every part of a core benchmark run reads: its options (bench/run.ts sets them once from
// its command line, before anything runs), whether it was interrupted (Ctrl-C: every load loop
// and every step polls it), and its log.
import type { ChildScenarioDef } from './child-process.ts';
import type { ScenarioDef } from './kind.ts';

export interface RunOptions {
  quick: boolean;
  /** The scenarios chosen (all by default), in table order: the load scenarios, then the child ones. */
  selected: ScenarioDef[];
  children: ChildScenarioDef[];
  /** Child scenario name → the options passed on to it (see passedFlags). */
  childArgs: Record<string, string[]>;
  /** Seconds per load scenario, of their warm-up, of the open-loop run; runs of event creation. */
  loadSeconds: number;
  warmupSeconds: number;
  openLoopSeconds: number;
  createRepetitions: number;
}

export let options: RunOptions;

export function setOptions(parsed: RunOptions) {
  options = parsed;
}

export let interrupted = false;

/** The first SIGINT / SIGTERM: the load stops, the run cleans up and reports what it has. */
export function interrupt() {
  interrupted = true;
}

export const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
