import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunction, REPO_ROOT, type BuildResult } from '../../deploy/build.js';
import { manifest } from '../../deploy/manifest.js';
import { BuildError } from '../../deploy/errors.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'deploy', 'fixtures');
/** Inside the repo, so the bundle resolves its external packages from the repo's node_modules. */
const OUT_ROOT = path.join(REPO_ROOT, 'test', '.tmp', `deploy-build-${process.pid}-${randomBytes(3).toString('hex')}`);
const FRAMEWORK_MAIN = path.join(REPO_ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');

afterAll(() => {
  rmSync(OUT_ROOT, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** GETs `url` until it answers (the process needs a moment to listen), or fails after `timeoutMs`. */
async function getWhenUp(url: string, exited: () => boolean, output: () => string, timeoutMs = 15_000): Promise<Response> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (exited()) throw new Error(`functions-framework exited before answering:\n${output()}`);
    try {
      return await fetch(url, { signal: AbortSignal.timeout(1000) });
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`functions-framework did not answer within ${timeoutMs} ms:\n${output()}`);
}

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
    const port = await freePort();
    const child = spawn(process.execPath, [FRAMEWORK_MAIN, '--target=hello', `--source=${outdir}`, `--port=${port}`], {
      env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      const res = await getWhenUp(
        `http://127.0.0.1:${port}/`,
        () => child.exitCode !== null,
        () => output,
      );

      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
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
});
