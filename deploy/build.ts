import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { BuildError } from './errors.js';
import { isMain } from './isMain.js';
import { getFunction, manifest } from './manifest.js';
import { DIST_DIR, REPO_ROOT } from './paths.js';

export { DIST_DIR, REPO_ROOT } from './paths.js';


/** Must be the very instance the platform's `main.js` loads, so it is always a dependency. */
const FUNCTIONS_FRAMEWORK = '@google-cloud/functions-framework';

/**
 * Packages inlined into each bundle rather than installed beside it. Loaded at start by
 * every function, and as npm packages they are many ES modules each: zod's entry point
 * alone is some 150 files (every locale), each resolved, read and compiled separately at
 * every cold start. Inlined, they are one file, and esbuild keeps only what the code uses
 * — which is why zod is imported as a namespace (`import * as z`), whose members esbuild
 * can drop, not as the `z` object, which holds all of them. `npm run bench:coldstart`
 * measures what this saves.
 */
export const INLINED: ReadonlySet<string> = new Set(['zod', 'lru-cache']);

/** Every npm package external except {@link INLINED} (what `packages: 'external'` does, with exceptions). */
const externalExceptInlined: Plugin = {
  name: 'external-except-inlined',
  setup(build) {
    // A bare specifier: not relative, not absolute (Node built-ins are external either way).
    build.onResolve({ filter: /^[^./]/ }, (args) => (INLINED.has(packageName(args.path)) ? undefined : { path: args.path, external: true }));
  },
};

/** One bundle to produce. */
export interface BuildEntry {
  /** Function (and functions-framework target) name. */
  name: string;
  /** The TypeScript entry file. */
  entry: string;
  /** Receives `index.js`, its source map and `package.json`; emptied first. */
  outdir: string;
}

/** What one build produced. */
export interface BuildResult {
  name: string;
  /** Absolute path of the bundle. */
  outfile: string;
  /** Wall time of the build. */
  ms: number;
  /** The `dependencies` written to the bundle's `package.json`. */
  dependencies: Record<string, string>;
}

interface RootPackage {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
}

function readRootPackage(): RootPackage {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as RootPackage;
}

/** `@scope/pkg/sub/path` → `@scope/pkg`; `pkg/sub` → `pkg`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** The npm packages a bundle still imports (static or dynamic), Node built-ins left out. */
function externalPackages(metafile: Metafile): Set<string> {
  const packages = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (imported.external && !isBuiltin(imported.path)) packages.add(packageName(imported.path));
    }
  }
  return packages;
}

/**
 * The bundle's own source files that lie outside `allowed` folders (repo-relative, with a
 * trailing `/`). npm packages are external and never inputs; `node_modules/` is skipped
 * all the same, in case a package is ever inlined on purpose.
 */
export function inputsOutside(metafile: Metafile, allowed: readonly string[]): string[] {
  return Object.keys(metafile.inputs)
    .map((input) => input.split(path.sep).join('/'))
    .filter((input) => !input.startsWith('node_modules/') && !input.includes('/node_modules/'))
    .filter((input) => !allowed.some((folder) => input.startsWith(folder)))
    .sort();
}

/**
 * Bundles one function: `entry` → `outdir/index.js` (ESM for Node 20+, with a source map)
 * and a `package.json` the platform installs from.
 *
 * npm packages stay external — the platform installs them from the bundle's
 * `package.json` — except {@link INLINED}: the small pure-JS packages every function
 * reads at start. Above all `@google-cloud/functions-framework` must be external, the
 * instance its own `main.js` loads: an inlined copy would register the function in a
 * registry nobody reads. The packages a function imports on first use (pg, the Google
 * client libraries) stay external too: inlined, their code would be parsed at start-up
 * with the rest of the bundle.
 *
 * The source map carries no sources (`sourcesContent: false`): Node needs only its
 * mappings to point stack traces at our TypeScript, and `--enable-source-maps` reads and
 * parses the whole map at every cold start (pipeline-worker's: 510 KB before, with its
 * sources; 290 KB now, zod's mappings included).
 *
 * The bundle's dependencies are the root `dependencies` entries the bundle imports (read
 * from esbuild's metafile), so each function ships only what it uses. A package the code
 * imports that is not a root dependency (a devDependency, a typo) fails the build here
 * rather than at the function's first cold start.
 *
 * The layering rule is checked again on what actually went in: every input must lie in
 * the entry's own folder (`functions/<name>/`) or in `shared/`. An import of `deploy/`,
 * `dev/` or another function — which lint should have stopped — fails the build here,
 * before provisioning code or a sibling's routes ship inside a bundle.
 */
export async function buildFunction({ name, entry, outdir }: BuildEntry): Promise<BuildResult> {
  const started = performance.now();
  if (!existsSync(entry)) throw new BuildError(`${name}: entry ${path.relative(REPO_ROOT, entry)} does not exist`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, 'index.js');

  let metafile: Metafile;
  try {
    const result = await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: true,
      sourcesContent: false,
      plugins: [externalExceptInlined],
      metafile: true,
      absWorkingDir: REPO_ROOT,
      logLevel: 'silent',
    });
    metafile = result.metafile;
  } catch (error) {
    // Leave no half-written folder that could be deployed by mistake.
    rmSync(outdir, { recursive: true, force: true });
    throw new BuildError(`${name}: esbuild failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }

  const ownFolder = `${path.relative(REPO_ROOT, path.dirname(entry)).split(path.sep).join('/')}/`;
  const strays = inputsOutside(metafile, [ownFolder, 'shared/']);
  if (strays.length > 0) {
    rmSync(outdir, { recursive: true, force: true });
    throw new BuildError(
      `${name}: the bundle includes ${strays.join(', ')}, outside ${ownFolder} and shared/ (a function imports only its own folder and shared/)`,
    );
  }

  const root = readRootPackage();
  const rootDependencies = root.dependencies ?? {};
  const used = externalPackages(metafile);
  used.add(FUNCTIONS_FRAMEWORK);
  const undeclared = [...used].filter((pkg) => rootDependencies[pkg] === undefined);
  if (undeclared.length > 0) {
    rmSync(outdir, { recursive: true, force: true });
    throw new BuildError(
      `${name}: the bundle imports ${undeclared.join(', ')}, not listed in package.json "dependencies" (the platform would not install ${undeclared.length === 1 ? 'it' : 'them'})`,
    );
  }
  const dependencies = Object.fromEntries([...used].sort().map((pkg) => [pkg, rootDependencies[pkg] as string]));

  const bundlePackage = {
    name: `cloudact-${name}`,
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: root.engines?.node ?? '>=20' },
    dependencies,
  };
  writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify(bundlePackage, null, 2)}\n`);
  return { name, outfile, ms: Math.round(performance.now() - started), dependencies };
}

/**
 * Builds the named functions of the manifest (all by default) into `dist/<name>/`, in
 * parallel. Throws on the first function that cannot be built.
 */
export async function buildFunctions(names?: string[]): Promise<BuildResult[]> {
  const specs = (names ?? manifest.functions.map((f) => f.name)).map((name) => getFunction(name));
  return Promise.all(
    specs.map((fn) =>
      buildFunction({ name: fn.name, entry: path.join(REPO_ROOT, fn.source, 'index.ts'), outdir: path.join(DIST_DIR, fn.name) }),
    ),
  );
}

async function main(): Promise<void> {
  const names = process.argv.slice(2);
  const started = performance.now();
  const results = await buildFunctions(names.length > 0 ? names : undefined);
  const width = Math.max(...results.map((r) => r.name.length));
  const fileWidth = Math.max(...results.map((r) => path.relative(REPO_ROOT, r.outfile).length));
  for (const r of results) {
    const file = path.relative(REPO_ROOT, r.outfile).padEnd(fileWidth);
    console.log(`${r.name.padEnd(width)}  ${file}  ${String(r.ms).padStart(5)} ms  deps: ${Object.keys(r.dependencies).join(', ')}`);
  }
  console.log(`built ${results.length} function(s) in ${Math.round(performance.now() - started)} ms`);
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
