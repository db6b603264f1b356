// The Redis adapters' Lua scripts live in lua/<name>.lua, one file each, with its KEYS and
// ARGV described at the top. Each adapter reads its own once, when its module loads, and
// defines them on its client (defineCommand) as before.
import { readFileSync } from 'node:fs';

export function loadLua(name: string): string {
  return readFileSync(new URL(`lua/${name}.lua`, import.meta.url), 'utf8');
}
