import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Each workspace package declares exactly the packages its src imports (no more, no less), so the package graph
 * on disk is the one the code uses; the root package declares what tests/ imports. Type-only imports count:
 * the emitted .d.ts files refer to those packages too.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

interface PackageJson {
  name: string;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const rootPackage = readJson(path.join(ROOT, 'package.json'));
const workspaces = (rootPackage.workspaces ?? []).map((dir) => ({ dir, pkg: readJson(path.join(ROOT, dir, 'package.json')) }));
const builtins = new Set(builtinModules);

function readJson(file: string): PackageJson {
  return JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(full);
    return /\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The package a specifier names ('@scope/name/sub' → '@scope/name'), or undefined for relative paths and builtins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtins.has(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Static and dynamic imports, re-exports, import(…) types, and require.resolve(…) lookups of package files. */
function importedPackages(files: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [/\bfrom\s+'([^']+)'/g, /\bimport\s+'([^']+)'/g, /\bimport\(\s*'([^']+)'\s*\)/g, /\.resolve\(\s*'([^']+)'\s*\)/g];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) {
        const name = packageOf(m[1]!);
        if (name !== undefined && !found.has(name)) found.set(name, path.relative(ROOT, file));
      }
    }
  }
  return found;
}

describe('package.json dependencies match the imports', () => {
  for (const { dir, pkg } of workspaces) {
    it(`${pkg.name} (${dir}/) declares exactly the packages its src imports`, () => {
      const imported = importedPackages(sourceFiles(path.join(ROOT, dir, 'src')));
      const declared = Object.keys(pkg.dependencies ?? {});
      const undeclared = [...imported].filter(([name]) => !declared.includes(name) && name !== pkg.name).map(([name, file]) => `${name} (imported by ${file})`);
      const unused = declared.filter((name) => !imported.has(name));
      expect({ undeclared, unused }).toEqual({ undeclared: [], unused: [] });
      expect(pkg.devDependencies ?? {}, 'workspace packages keep no devDependencies (tools live in the root)').toEqual({});
    });
  }

  it('the root declares every package tests/ imports (workspace packages aside)', () => {
    const imported = importedPackages([...sourceFiles(path.join(ROOT, 'tests')), path.join(ROOT, 'vitest.config.ts')]);
    const workspaceNames = new Set(workspaces.map((w) => w.pkg.name));
    const declared = new Set(Object.keys({ ...rootPackage.dependencies, ...rootPackage.devDependencies }));
    const undeclared = [...imported].filter(([name]) => !declared.has(name) && !workspaceNames.has(name)).map(([name, file]) => `${name} (imported by ${file})`);
    expect(undeclared).toEqual([]);
  });

  it('a package declared in several package.json files has one version spec; @nats-io/* is pinned exactly', () => {
    const specs = new Map<string, Set<string>>();
    for (const pkg of [rootPackage, ...workspaces.map((w) => w.pkg)]) {
      for (const [name, spec] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
        if (!specs.has(name)) specs.set(name, new Set());
        specs.get(name)!.add(spec);
      }
    }
    const differing = [...specs].filter(([, s]) => s.size > 1).map(([name, s]) => `${name}: ${[...s].join(' vs ')}`);
    expect(differing).toEqual([]);
    const loose = [...specs].filter(([name]) => name.startsWith('@nats-io/')).flatMap(([name, s]) => [...s].filter((v) => !/^\d+\.\d+\.\d+$/.test(v)).map((v) => `${name}@${v}`));
    expect(loose).toEqual([]);
  });

  it('the role boundaries hold: the coordinator does not depend on the worker, the engine not on TensorFlow.js', () => {
    const deps = (name: string) => Object.keys(workspaces.find((w) => w.pkg.name === name)?.pkg.dependencies ?? {});
    expect(deps('@gradmesh/coordinator')).not.toContain('@gradmesh/worker');
    expect(deps('@gradmesh/shared').filter((d) => d.startsWith('@tensorflow/'))).toEqual([]);
    expect(deps('@gradmesh/shared').filter((d) => d.startsWith('@gradmesh/'))).toEqual([]);
  });
});
