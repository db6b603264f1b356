// The command line of `npm run bench`: its usage and its options, the scenario names and the
// options passed on to a child scenario taken from the table of scenarios.
import type { RunOptions } from './run-state.ts';
import { childScenarios, loadScenarios, scenarios } from './table.ts';

const indent = '\n                     ';
/** What each child scenario is, then the search scenarios' note. */
const scenarioNotes = [
  ...childScenarios.map((child) => `${child.name}: ${child.usage.join(indent)}`),
  'search-*: 10,000 events seeded with --quick, else 100,000',
].join(`;${indent}`);

const usage = `usage: npm run bench -- [--quick] [<name>…] [--scenario <name>[,<name>…]] [--duration <seconds>]
                     [flash-sale options: --seats N --buyers N --sessions N --hold-ttl S --seconds S
                      --targets a,b … (see npx tsx bench/flash-sale.ts --help)]

  --quick            about 3 s per load scenario (1 s warm-up), event creation once: a smoke run
  --scenario <name>  run only this scenario (repeatable, or comma-separated); one of:
                       ${scenarios.map((scenario) => scenario.name).join('\n                       ')}
                     (${scenarioNotes})
  --duration <s>     seconds per load scenario (default 10, or 3 with --quick); not sse-fanout
                     nor waiting-room

env: BENCH_POSTGRES_URL  server to create the throwaway bench_<timestamp> database on
                         (default postgres://postgres@127.0.0.1:5432/test)
     BENCH_REDIS_URL     Redis (with its database index) for the hold gate scenarios
                         (default redis://127.0.0.1:6379/14); only this run's keys are touched
     BENCH_SSE_REDIS_URL Redis database index of sse-fanout (default redis://127.0.0.1:6379/9),
                         FLUSHED at its start and end: not 0, nor one anything else uses`;

export function parseArgs(argv: string[]): RunOptions {
  let quick = false;
  let duration: number | undefined;
  const names: string[] = [];
  /** Child scenario name → the options passed on to it, in the order given. */
  const childArgs: Record<string, string[]> = {};
  const childOf = (flag: string) => childScenarios.find((child) => child.passedFlags?.includes(flag));
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    const [flag, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg];
    const value = () => {
      const next = inline ?? argv[++index];
      if (next === undefined) fail(`${flag} needs a value`);
      return next;
    };
    const child = childOf(flag!);
    if (flag === '--quick') quick = true;
    else if (!arg.startsWith('-')) names.push(...arg.split(',').filter(Boolean));
    else if (child) (childArgs[child.name] ??= []).push(flag!, value());
    else if (flag === '--scenario') names.push(...value().split(',').filter(Boolean));
    else if (flag === '--duration') {
      duration = Number(value());
      if (!Number.isFinite(duration) || duration <= 0 || duration > 600) fail('--duration must be 0 < s <= 600');
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    } else fail(`unknown argument ${arg}`);
  }
  for (const name of names) {
    if (!scenarios.some((scenario) => scenario.name === name)) fail(`unknown scenario "${name}"`);
  }
  for (const [name, args] of Object.entries(childArgs)) {
    if (names.length > 0 && !names.includes(name)) fail(`${args[0]} is an option of ${name}, which is not selected`);
  }
  const chosen = (scenario: { name: string }) => names.length === 0 || names.includes(scenario.name);
  return {
    quick,
    selected: loadScenarios.filter(chosen),
    children: childScenarios.filter(chosen),
    childArgs,
    loadSeconds: duration ?? (quick ? 3 : 10),
    warmupSeconds: quick ? 1 : 2,
    openLoopSeconds: quick ? 2 : 5,
    createRepetitions: quick ? 1 : 3,
  };
}

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${usage}\n`);
  process.exit(2);
}
