// The package's promises about itself: every dependency in the lock file
// supports the Node versions `engines` declares (so `npm ci` on Node 20 prints
// no EBADENGINE), and the LICENSE file is the license package.json names.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  license: string;
  engines: { node: string };
  overrides?: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; dev?: boolean; optional?: boolean }>;
};

type V = [number, number, number];

function parseVersion(s: string): V | null {
  const m = /^v?(\d+|x|\*)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:-[0-9A-Za-z.-]+)?$/.exec(s.trim());
  if (m === null) return null;
  const n = (x: string | undefined): number => (x === undefined || x === 'x' || x === '*' ? 0 : Number(x));
  return [n(m[1]), n(m[2]), n(m[3])];
}

function cmp(a: V, b: V): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Whether version v satisfies a node-semver range (the forms found in engines fields). */
export function satisfies(v: V, range: string): boolean {
  return range.split('||').some((alt) => {
    const words = alt.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter((w) => w !== '');
    if (words.length === 0) return true;
    // "a - b" hyphen ranges.
    if (words.length === 3 && words[1] === '-') {
      const lo = parseVersion(words[0]!);
      const hi = parseVersion(words[2]!);
      if (lo === null || hi === null) throw new Error(`cannot read range ${range}`);
      return cmp(v, lo) >= 0 && cmp(v, hi) <= 0;
    }
    return words.every((w) => {
      if (w === '*' || w === 'x') return true;
      const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(w)!;
      const op = m[1] ?? '';
      const target = parseVersion(m[2]!);
      if (target === null) throw new Error(`cannot read range ${range}`);
      const c = cmp(v, target);
      const parts = m[2]!.split('.').filter((p) => p !== 'x' && p !== '*').length;
      switch (op) {
        case '>=': return c >= 0;
        case '>': return c > 0;
        case '<=': return c <= 0;
        case '<': return c < 0;
        case '^': return c >= 0 && v[0] === target[0];
        case '~': return c >= 0 && v[0] === target[0] && (parts < 2 || v[1] === target[1]);
        default:
          // "20", "20.x": the whole major (or minor).
          if (parts === 1) return v[0] === target[0];
          if (parts === 2) return v[0] === target[0] && v[1] === target[1];
          return c === 0;
      }
    });
  });
}

test('satisfies() reads the range forms found in engines fields', () => {
  assert.equal(satisfies([20, 19, 0], '>=20.19'), true);
  assert.equal(satisfies([20, 19, 0], '>=22'), false);
  assert.equal(satisfies([20, 19, 0], '^18.17.0 || >=20.5.0'), true);
  assert.equal(satisfies([20, 19, 0], '^14.17.0 || ^16.13.0 || >=18.0.0'), true);
  assert.equal(satisfies([20, 19, 0], '>= 22.0.0'), false);
  assert.equal(satisfies([20, 19, 0], '18 || 20'), true);
  assert.equal(satisfies([20, 19, 0], '>=12 <20'), false);
});

test("every locked dependency's engines accept the lowest Node the package declares", () => {
  const m = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(pkg.engines.node);
  assert.ok(m !== null, `engines.node is a lower bound (${pkg.engines.node})`);
  const lowest = parseVersion(m[1]!)!;
  const bad: string[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '') continue;
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (range === undefined) continue;
    // The lowest declared Node and the current 20.x line must both be accepted.
    for (const v of [lowest, [20, 99, 0] as V]) {
      if (!satisfies(v, range)) bad.push(`${where}@${entry.version}: engines.node "${range}" excludes ${v.join('.')}`);
    }
  }
  assert.deepEqual(bad, [], 'pin a version that supports Node 20 (package.json "overrides")');
});

test('the overrides pin exact versions that the lock file holds', () => {
  for (const [name, version] of Object.entries(pkg.overrides ?? {})) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} pinned exactly`);
    const locked = Object.entries(lock.packages).filter(([where]) => where.endsWith(`node_modules/${name}`));
    assert.ok(locked.length > 0, `${name} is in the lock file`);
    for (const [where, e] of locked) assert.equal(e.version, version, where);
  }
});

test('LICENSE is the MIT license that package.json names', () => {
  assert.equal(pkg.license, 'MIT');
  const text = readFileSync(path.join(root, 'LICENSE'), 'utf8');
  assert.match(text, /^MIT License\n/);
  assert.match(text, /Permission is hereby granted, free of charge/);
  assert.match(text, /THE SOFTWARE IS PROVIDED "AS IS"/);
});
