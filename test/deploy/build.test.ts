import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunction, INLINED, REPO_ROOT, type BuildResult } from '../../deploy/build.js';
import { manifest } from '../../deploy/manifest.js';
import { BuildError } from '../../deploy/errors.js';
import { startFunctionProcess } from '../../dev/functionProcess.js';
import { TMP_ROOT } from '../fixtures/runtime/functionsFramework.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'deploy', 'fixtures');
/** Inside the repo, so the bundle resolves its external packages from the repo's node_modules. */
const OUT_ROOT = path.join(TMP_ROOT, `deploy-build-${process.pid}-${randomBytes(3).toString('hex')}`);

afterAll(() => {
  rmSync(OUT_ROOT, { recursive: true, force: true });
});

describe('buildFunction', () => {
  const outdir = path.join(OUT_ROOT, 'hello');
  let result: BuildResult;

  beforeAll(async () => {
    result = await buildFunction({ name: 'hello', entry: path.join(FIXTURES, 'hello', 'index.ts'), outdir });
  });

  it('writes a package.json that installs functions-framework and runs the bundle as ESM', () => {
    const pkg = JSON.parse(readFileSync(path.join(outdir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const root = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(result.outfile).toBe(path.join(outdir, 'index.js'));
    expect(pkg).toMatchObject({ type: 'module', main: 'index.js', engines: { node: expect.any(String) as string } });
    // Only what the bundle imports: the fixture imports nothing but the framework.
    expect(pkg.dependencies).toEqual({ '@google-cloud/functions-framework': root.dependencies['@google-cloud/functions-framework'] });
  });

  it('keeps functions-framework out of the bundle and ships a source map', () => {
    const bundle = readFileSync(path.join(outdir, 'index.js'), 'utf8');
    expect(bundle).toMatch(/from ["']@google-cloud\/functions-framework["']/);
    expect(bundle).not.toContain('registrationContainer');
    expect(bundle).toContain('sourceMappingURL=index.js.map');
  });

  it('produces a bundle the real functions-framework serves: GET answers 200 "ok"', async () => {
    const fn = await startFunctionProcess({ source: outdir, target: 'hello', env: {} });
    try {
      const res = await fetch(`${fn.url}/`, { signal: AbortSignal.timeout(5000) });

      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
    } finally {
      await fn.stop('SIGKILL');
    }
  });

  it.each([
    {
      case: 'an entry that does not exist',
      entry: path.join(FIXTURES, 'missing', 'index.ts'),
      message: 'nowhere: entry test/deploy/fixtures/missing/index.ts does not exist',
    },
    {
      case: 'a package that is not a runtime dependency',
      entry: path.join(FIXTURES, 'undeclared', 'index.ts'),
      message: 'nowhere: the bundle imports esbuild, not listed in package.json "dependencies"',
    },
    {
      case: 'a planted wrong-way import of deploy/',
      entry: path.join(FIXTURES, 'wrongway', 'index.ts'),
      message: 'nowhere: the bundle includes deploy/paths.ts, outside test/deploy/fixtures/wrongway/ and shared/',
    },
    {
      case: "an import of another function's folder",
      entry: path.join(FIXTURES, 'sibling', 'index.ts'),
      message: 'nowhere: the bundle includes test/deploy/fixtures/hello/index.ts, outside test/deploy/fixtures/sibling/ and shared/',
    },
  ])('fails with a BuildError for $case', async ({ entry, message }) => {
    const attempt = buildFunction({ name: 'nowhere', entry, outdir: path.join(OUT_ROOT, 'nowhere') });

    await expect(attempt).rejects.toThrow(BuildError);
    await expect(attempt).rejects.toThrow(message);
    expect(existsSync(path.join(OUT_ROOT, 'nowhere', 'index.js'))).toBe(false);
  });
});

describe('the layering check of the build on the real tree', () => {
  it('builds every function of the manifest: each bundle holds only its own folder and shared/', async () => {
    const built = await Promise.all(
      manifest.functions.map((fn) =>
        buildFunction({ name: fn.name, entry: path.join(REPO_ROOT, fn.source, 'index.ts'), outdir: path.join(OUT_ROOT, 'tree', fn.name) }),
      ),
    );

    expect(built.map((r) => r.name).sort()).toEqual(manifest.functions.map((fn) => fn.name).sort());
  });

  it('inlines zod and lru-cache (each bundle imports neither, nor lists it), keeping only the part of zod the code uses', async () => {
    const outdir = path.join(OUT_ROOT, 'inlined', 'quota');
    const result = await buildFunction({ name: 'quota', entry: path.join(REPO_ROOT, 'functions', 'quota', 'index.ts'), outdir });
    const bundle = readFileSync(result.outfile, 'utf8');
    const map = JSON.parse(readFileSync(`${result.outfile}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };

    expect([...INLINED].sort()).toEqual(['lru-cache', 'zod']);
    expect(Object.keys(result.dependencies)).not.toContain('zod');
    expect(Object.keys(result.dependencies)).not.toContain('lru-cache');
    expect(bundle).not.toMatch(/from ["'](zod|lru-cache)["']/);
    // Used: the schemas and the LRU are in the bundle.
    expect(map.sources.some((s) => s.includes('node_modules/zod/v4/classic/schemas'))).toBe(true);
    expect(map.sources.some((s) => s.includes('node_modules/lru-cache/'))).toBe(true);
    // Not used: zod's locales other than English (its default), which `import { z }` would have kept, all 40-odd of them.
    expect(map.sources.filter((s) => s.includes('node_modules/zod/v4/locales/')).map((s) => path.basename(s))).toEqual(['en.js']);
    // A source map for stack traces only: mappings, no copy of the sources.
    expect(map.sourcesContent).toBeUndefined();
    // The packages the function loads on first use stay external.
    expect(Object.keys(result.dependencies)).toEqual(expect.arrayContaining(['@google-cloud/functions-framework', 'pg', '@google-cloud/bigquery']));
  });
});
