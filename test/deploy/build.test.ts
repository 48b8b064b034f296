import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunction, EXTERNAL, REPO_ROOT, type BuildResult } from '../../deploy/build.js';
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

  it('writes a module imported on first use to lazy/, which the real functions-framework loads when asked', async () => {
    const lazyOut = path.join(OUT_ROOT, 'lazyhello');
    const built = await buildFunction({ name: 'lazyhello', entry: path.join(FIXTURES, 'lazyhello', 'index.ts'), outdir: lazyOut });
    expect(built.lazyFiles).toEqual(['lazy/test-deploy-fixtures-lazyhello-greeting.js']);
    const map = JSON.parse(readFileSync(`${built.outfile}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.filter((s) => s.includes('lru-cache') || s.includes('greeting'))).toEqual([]);
    const fn = await startFunctionProcess({ source: lazyOut, target: 'lazyhello', env: {} });
    try {
      const res = await fetch(`${fn.url}/`, { signal: AbortSignal.timeout(5000) });

      expect(await res.text()).toBe('ok 2');
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
      case: 'a package imported on first use directly (its code would be parsed at start)',
      entry: path.join(FIXTURES, 'lazypackage', 'index.ts'),
      message: "nowhere: test/deploy/fixtures/lazypackage/index.ts: import('lru-cache'): import a package on first use through a module of ours",
    },
    {
      case: 'a module imported both on first use and statically (it would run twice)',
      entry: path.join(FIXTURES, 'lazytwice', 'index.ts'),
      message: 'nowhere: test/deploy/fixtures/lazytwice/index.ts imports test/deploy/fixtures/lazytwice/greeting.ts, also imported on first use',
    },
    {
      case: 'a module imported for its side effects alone (the bundle would drop it)',
      entry: path.join(FIXTURES, 'bareimport', 'index.ts'),
      message: 'our modules declare no import-time side effects',
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

  it('inlines every package but the few installed beside it, keeping only the part of zod the code uses', async () => {
    const outdir = path.join(OUT_ROOT, 'inlined', 'quota');
    const result = await buildFunction({ name: 'quota', entry: path.join(REPO_ROOT, 'functions', 'quota', 'index.ts'), outdir });
    const bundle = readFileSync(result.outfile, 'utf8');
    const map = JSON.parse(readFileSync(`${result.outfile}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };

    expect([...EXTERNAL].sort()).toEqual(['@google-cloud/cloud-sql-connector', '@google-cloud/functions-framework', '@google-cloud/kms', 'pg-native']);
    // Installed: only the framework and the connector (quota uses no KMS).
    expect(Object.keys(result.dependencies)).toEqual(['@google-cloud/cloud-sql-connector', '@google-cloud/functions-framework']);
    expect(bundle).not.toMatch(/from ["'](zod|lru-cache|pg|@google-cloud\/bigquery|google-auth-library)["']/);
    // Used at start: the schemas and the LRU are in index.js.
    expect(map.sources.some((s) => s.includes('node_modules/zod/v4/classic/schemas'))).toBe(true);
    expect(map.sources.some((s) => s.includes('node_modules/lru-cache/'))).toBe(true);
    // Not used: zod's locales other than English (its default), which `import { z }` would have kept, all 40-odd of them.
    expect(map.sources.filter((s) => s.includes('node_modules/zod/v4/locales/')).map((s) => path.basename(s))).toEqual(['en.js']);
    // A source map for stack traces only: mappings, no copy of the sources.
    expect(map.sourcesContent).toBeUndefined();
  });

  it('leaves out the modules a function imports but never uses (our modules declare no import-time side effects)', async () => {
    const sourcesOf = async (name: string): Promise<string[]> => {
      const result = await buildFunction({ name, entry: path.join(REPO_ROOT, 'functions', name, 'index.ts'), outdir: path.join(OUT_ROOT, 'pure', name) });
      return (JSON.parse(readFileSync(`${result.outfile}.map`, 'utf8')) as { sources: string[] }).sources.map((s) => s.replace(/^(\.\.\/)+/, ''));
    };
    const event = await sourcesOf('budget-alert-delivery');
    const http = await sourcesOf('quota');

    // An event function: no API-key authentication, no list cursors, no provider clients.
    expect(event).toContain('shared/pubsub/createEventHandler.ts');
    expect(event.filter((s) => /^shared\/(auth\/authenticate|http\/cursor|providers\/)/.test(s))).toEqual([]);
    // An HTTP function: no Pub/Sub handler.
    expect(http).toContain('shared/auth/authenticate.ts');
    expect(http.filter((s) => s.startsWith('shared/pubsub/createEventHandler'))).toEqual([]);
    expect(JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'))).toMatchObject({ sideEffects: false });
  });

  it('writes what a function needs on first use (pg, BigQuery, google-auth-library) to files of their own, loaded by import()', async () => {
    const outdir = path.join(OUT_ROOT, 'lazy', 'pipeline-worker');
    const result = await buildFunction({ name: 'pipeline-worker', entry: path.join(REPO_ROOT, 'functions', 'pipeline-worker', 'index.ts'), outdir });
    const bundle = readFileSync(result.outfile, 'utf8');
    const map = JSON.parse(readFileSync(`${result.outfile}.map`, 'utf8')) as { sources: string[] };

    expect(result.lazyFiles).toEqual(['lazy/shared-bigquery-library.js', 'lazy/shared-db-pgLibrary.js', 'lazy/shared-pubsub-googleAuth.js']);
    // index.js holds none of them, and reaches each only through import().
    expect(map.sources.filter((s) => /node_modules\/(pg|@google-cloud\/bigquery|google-auth-library|gaxios)\//.test(s))).toEqual([]);
    for (const file of result.lazyFiles) {
      expect(bundle).toContain(`import("./${file}")`);
      expect(bundle).not.toMatch(new RegExp(`from ["']\\./${file.replace('.', '\\.')}["']`));
    }
    expect(result.startBytes).toBeLessThan(result.lazyBytes);
    // A lazy file that only re-exports a package ships no map (it would map into the package's JavaScript).
    const bigquery = readFileSync(path.join(outdir, 'lazy', 'shared-bigquery-library.js'), 'utf8');
    expect(bigquery).not.toContain('sourceMappingURL');
    expect(existsSync(path.join(outdir, 'lazy', 'shared-bigquery-library.js.map'))).toBe(false);
    // CommonJS interop inside the lazy file: google-auth-library's own import('https-proxy-agent') gets the module's named exports.
    expect(bigquery).toMatch(/__toESM\(require_dist\d*\(\)\)\)\)\.HttpsProxyAgent/);
  });
});
