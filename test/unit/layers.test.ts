// Every line of code knows its room (docs/architecture.md, "Layers"): the domain imports only
// the domain; use cases only the domain and their ports, and no technology; adapters never
// reach into HTTP or the composition root; the composition root and the commands never
// import HTTP. Read from the import statements of every file under src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const srcDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Each file's imports: source files as paths relative to src/, packages by name. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^(?:import|export)\s[^'";]*?from\s+'([^']+)'/gm)].map((match) => match[1]!);
  return {
    local: specifiers
      .filter((specifier) => specifier.startsWith('.'))
      .map((specifier) => path.relative(srcDir, path.resolve(path.dirname(file), specifier))),
    packages: specifiers.filter((specifier) => !specifier.startsWith('.')),
  };
}

interface Rule {
  /** Files the rule is about (paths relative to src/). */
  files: RegExp;
  /** What they may not import. */
  forbidden: RegExp;
  /** Packages they may import (default: any). */
  packages?: RegExp;
  why: string;
}

const rules: Rule[] = [
  {
    files: /^domain\//,
    forbidden: /^(?!domain\/)/,
    packages: /^$/,
    why: 'the domain is pure TypeScript',
  },
  {
    files: /^app\//,
    forbidden: /^(?!(app|domain)\/)/,
    packages: /^node:crypto$/,
    why: 'use cases know ports and the domain, no adapter, transport or configuration',
  },
  {
    files: /^adapters\//,
    forbidden: /^(http\/|runtime\.ts|cli\/)/,
    why: 'adapters implement ports; they never reach into HTTP or the composition root',
  },
  {
    files: /^(runtime\.ts|cli\/)/,
    forbidden: /^http\//,
    why: 'the composition root and the commands stay free of HTTP',
  },
];

test('when every source file is read, then none imports across the layers', () => {
  const violations: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const name = path.relative(srcDir, file);
    const { local, packages } = importsOf(file);
    for (const rule of rules.filter((candidate) => candidate.files.test(name))) {
      for (const target of local.filter((imported) => rule.forbidden.test(imported))) {
        violations.push(`${name} imports ${target}: ${rule.why}`);
      }
      for (const pkg of packages.filter((imported) => rule.packages && !rule.packages.test(imported))) {
        violations.push(`${name} imports the package ${pkg}: ${rule.why}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('when the import reader meets a forbidden import, then it reports it', () => {
  // The reader itself: a file of this test's own folder, read as if it lived in domain/.
  const { local, packages } = importsOf(fileURLToPath(import.meta.url));
  assert.ok(packages.includes('node:assert/strict'));
  assert.deepEqual(local, []);
  assert.ok(importsOf(path.join(srcDir, 'runtime.ts')).local.includes('app/deps.ts'));
});
