import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { build, type Message, type Metafile, type Plugin } from 'esbuild';
import { BuildError } from './errors.js';
import { isMain } from './isMain.js';
import { getFunction, manifest } from './manifest.js';
import { DIST_DIR, REPO_ROOT } from './paths.js';

export { DIST_DIR, REPO_ROOT } from './paths.js';


/** Must be the very instance the platform's `main.js` loads, so it is always a dependency. */
const FUNCTIONS_FRAMEWORK = '@google-cloud/functions-framework';

/**
 * The npm packages installed beside each bundle instead of inlined into it; every other
 * package a function imports is inlined (see {@link buildFunction}).
 * - functions-framework: it must be the very instance the platform's `main.js` loads — an
 *   inlined copy would register the function in a registry nobody reads.
 * - `@google-cloud/kms`: google-gax reads its protos from its package folder at run time.
 * - `@google-cloud/cloud-sql-connector`: it runs only in Google Cloud (tests never construct
 *   one), so it ships as published rather than as a bundle no test here has run.
 * - `pg-native`: the optional native addon pg loads only when `pg.native` is read.
 */
export const EXTERNAL: ReadonlySet<string> = new Set([
  FUNCTIONS_FRAMEWORK,
  '@google-cloud/kms',
  '@google-cloud/cloud-sql-connector',
  'pg-native',
]);

/** A package specifier: not relative, not absolute (`pg`, `@google-cloud/kms/sub`). */
const BARE_SPECIFIER = /^[^./]/;

/** Keeps the `installed` packages external (what `packages: 'external'` does, for a chosen few). */
function keepExternal(installed: ReadonlySet<string>): Plugin {
  return {
    name: 'keep-external',
    setup(build) {
      // Node built-ins are external either way.
      build.onResolve({ filter: BARE_SPECIFIER }, (args) => (installed.has(packageName(args.path)) ? { path: args.path, external: true } : undefined));
    },
  };
}

/** Where the modules a function imports on first use are written, inside its out folder. */
const LAZY_DIR = 'lazy';

/**
 * Makes each module of ours that our code imports with `import()` a file of its own, loaded
 * on first use: the import is left in the output, pointed at `lazy/<name>.js`, and `found`
 * collects the module; {@link buildFunction} then builds those the output still imports.
 * A module imported both ways would be loaded twice, so the build refuses a static import
 * of a lazy module.
 */
function lazyModules(found: Map<string, string>, fromLazyDir: boolean): Plugin {
  return {
    name: 'lazy-modules',
    setup(build) {
      build.onResolve({ filter: /^\./ }, async (args) => {
        if (args.kind !== 'dynamic-import' || isPackageFile(args.importer) || args.pluginData === 'lazy-modules') return undefined;
        const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: 'lazy-modules' });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        const name = lazyName(resolved.path);
        found.set(resolved.path, name);
        return { path: `./${fromLazyDir ? '' : `${LAZY_DIR}/`}${name}.js`, external: true };
      });
    },
  };
}

/** `shared/bigquery/library.ts` → `shared-bigquery-library`. */
function lazyName(file: string): string {
  return repoPath(file).replaceAll('/', '-').replace(/\.[cm]?[jt]s$/, '');
}

/**
 * Inlined CommonJS packages (pg, the Google client libraries) `require` Node built-ins;
 * an ES module has no `require`, so each output file gets one.
 */
const REQUIRE_SHIM = "import { createRequire as __cloudactCreateRequire } from 'node:module'; const require = __cloudactCreateRequire(import.meta.url);";

/** One bundle to produce. */
export interface BuildEntry {
  /** Function (and functions-framework target) name. */
  name: string;
  /** The TypeScript entry file. */
  entry: string;
  /** Receives `index.js`, its source map and `package.json`; emptied first. */
  outdir: string;
  /**
   * The packages installed beside the bundle rather than inlined. {@link EXTERNAL}, always
   * in production; `npm run bench:coldstart` passes more to measure what inlining saves.
   */
  installed?: ReadonlySet<string>;
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
  /** Size of `index.js`, all a start loads. */
  startBytes: number;
  /** The files loaded on first use (`lazy/<name>.js`, relative to the out folder). */
  lazyFiles: string[];
  lazyBytes: number;
}

interface RootPackage {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
}

function readRootPackage(): RootPackage {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as RootPackage;
}

/** Backslashes to `/` on Windows: the metafile's paths and ours are compared with `/`. */
function posix(file: string): string {
  return file.split(path.sep).join('/');
}

/** `file` relative to the repository, with `/`. */
function repoPath(file: string): string {
  return posix(path.relative(REPO_ROOT, file));
}

function isBareSpecifier(specifier: string): boolean {
  return BARE_SPECIFIER.test(specifier);
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
      if (imported.external && !isBuiltin(imported.path) && isBareSpecifier(imported.path)) packages.add(packageName(imported.path));
    }
  }
  return packages;
}

/** The npm packages our own source files import (inlined or not), Node built-ins left out. */
function packagesImportedByOwnCode(metafile: Metafile): Set<string> {
  const packages = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (isPackageFile(input)) continue;
    for (const imported of imports) {
      const specifier = imported.external ? imported.path : imported.original;
      if (specifier === undefined || isBuiltin(specifier) || !isBareSpecifier(specifier)) continue;
      packages.add(packageName(specifier));
    }
  }
  return packages;
}

/**
 * `import('pkg')` of an inlined package, in our code: it would be inlined where it stands,
 * parsed at start with the rest. A package loaded on first use is imported through a module
 * of ours that re-exports it (`shared/bigquery/library.ts`), which becomes a file of its own.
 */
function lazyImportsOfPackages(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (isPackageFile(input)) continue;
    for (const imported of imports) {
      const specifier = imported.original ?? imported.path;
      if (imported.kind !== 'dynamic-import' || imported.external || !isBareSpecifier(specifier)) continue;
      found.push(`${posix(input)}: import('${specifier}')`);
    }
  }
  return found.sort();
}

/** Our modules imported statically somewhere while also loaded on first use (`lazy`, absolute paths): they would run twice. */
function staticImportsOfLazy(metafile: Metafile, lazy: Iterable<string>): string[] {
  const lazyInputs = new Set([...lazy].map(repoPath));
  const found: string[] = [];
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    for (const imported of imports) {
      if (imported.kind === 'import-statement' && lazyInputs.has(posix(imported.path))) found.push(`${input} imports ${imported.path}`);
    }
  }
  return found.sort();
}

function isPackageFile(input: string): boolean {
  const normalized = posix(input);
  return normalized.startsWith('node_modules/') || normalized.includes('/node_modules/');
}

/**
 * Whether a build's inputs are npm packages and `entry` alone: a lazy module that only
 * re-exports a package. Its source map would map into the packages' compiled JavaScript
 * and cost a first use more than the code (BigQuery's: 580 KB, ~35 ms of CPU to parse).
 */
function onlyPackagesBeside(metafile: Metafile, entry: string): boolean {
  const own = repoPath(entry);
  return Object.keys(metafile.inputs).every((input) => isPackageFile(input) || posix(input) === own);
}

/** Removes `file`'s source map and the comment that points to it. */
function dropSourceMap(file: string): void {
  rmSync(`${file}.map`, { force: true });
  const code = readFileSync(file, 'utf8');
  writeFileSync(file, code.replace(/\n\/\/# sourceMappingURL=[^\n]*\n?$/, '\n'));
}

/** Both builds' inputs and outputs, for the checks that read what went in. */
function mergeMetafiles(metafiles: readonly Metafile[]): Metafile {
  return {
    inputs: Object.assign({}, ...metafiles.map((m) => m.inputs)) as Metafile['inputs'],
    outputs: Object.assign({}, ...metafiles.map((m) => m.outputs)) as Metafile['outputs'],
  };
}

/**
 * The bundle's own source files that lie outside `allowed` folders (repo-relative, with a
 * trailing `/`). npm packages are external and never inputs; `node_modules/` is skipped
 * all the same, in case a package is ever inlined on purpose.
 */
export function inputsOutside(metafile: Metafile, allowed: readonly string[]): string[] {
  return Object.keys(metafile.inputs)
    .map(posix)
    .filter((input) => !isPackageFile(input))
    .filter((input) => !allowed.some((folder) => input.startsWith(folder)))
    .sort();
}

/**
 * Bundles one function: `entry` → `outdir/index.js` (ESM for Node 20+, with a source map),
 * the modules it imports on first use → `outdir/lazy/<name>.js`, and a `package.json` the
 * platform installs from.
 *
 * Every npm package is inlined except {@link EXTERNAL}. As installed packages, the ones a
 * function loads are hundreds of CommonJS files, each resolved, stat-ed, read and compiled
 * when first required; inlined, they are one file. What a function needs only on first use
 * — pg, the BigQuery client, google-auth-library — it imports with `import()` of a module of
 * ours that re-exports the package (`shared/bigquery/library.ts`); each such module is
 * bundled on its own into `lazy/`, with everything it imports, and loaded when that first
 * use comes, so a start parses only what a start runs. (Not esbuild's `splitting`: a chunk
 * split off at a CommonJS package exports only `default`, and google-auth-library's own
 * `import('https-proxy-agent')` would find no `HttpsProxyAgent` in it.) zod is imported as
 * a namespace (`import * as z`), whose members esbuild can drop, not as the `z` object,
 * which holds all of them and all 40-odd locales. `npm run bench:coldstart` measures it.
 *
 * Our own modules are declared free of import-time side effects (`"sideEffects": false` in
 * package.json): a module none of whose exports a function uses is left out whole, its
 * top-level schemas never built — the HTTP helpers an event function imports through a
 * barrel, the Pub/Sub handler an HTTP function never registers (budget-alert-delivery's
 * `index.js`: 325 → 245 KB, importing it ~71 → ~49 ms of CPU). The few top-level effects
 * (`onShutdown`, `onDrainTimeout`, the logger's exit flush) sit in modules whose exports
 * are used wherever the effect matters; a bare `import './x.js'` fails the build.
 *
 * The source maps carry no sources (`sourcesContent: false`): Node needs only their
 * mappings to point stack traces at our TypeScript, and `--enable-source-maps` reads and
 * parses a file's whole map when the file is loaded (pipeline-worker's: 510 KB with its
 * sources, 290 KB without).
 *
 * The bundle's `package.json` lists the {@link EXTERNAL} packages it imports. Every package
 * our own code imports must be a root `dependencies` entry, inlined or not: a
 * devDependency or a typo fails the build here rather than ships.
 *
 * The layering rule is checked again on what actually went in: every input must lie in
 * the entry's own folder (`functions/<name>/`) or in `shared/`. An import of `deploy/`,
 * `dev/` or another function — which lint should have stopped — fails the build here,
 * before provisioning code or a sibling's routes ship inside a bundle.
 */
export async function buildFunction({ name, entry, outdir, installed = EXTERNAL }: BuildEntry): Promise<BuildResult> {
  const started = performance.now();
  if (!existsSync(entry)) throw new BuildError(`${name}: entry ${path.relative(REPO_ROOT, entry)} does not exist`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, 'index.js');
  const fail = (message: string, cause?: unknown): never => {
    // Leave no half-written folder that could be deployed by mistake.
    rmSync(outdir, { recursive: true, force: true });
    throw new BuildError(`${name}: ${message}`, cause === undefined ? undefined : { cause });
  };

  // The entry, then each module it (or a lazy module) imports on first use, once.
  const found = new Map<string, string>(); // every module imported with import(): source → name
  const lazy = new Map<string, string>(); // those the output still imports: source → `lazy/<name>.js`
  const metafiles: Metafile[] = [];
  const ignoredImports: Message[] = [];
  const pending: { source: string; file: string; inLazyDir: boolean }[] = [{ source: entry, file: outfile, inLazyDir: false }];
  for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
    let output: Metafile['outputs'][string] | undefined;
    try {
      const result = await build({
        entryPoints: [next.source],
        outfile: next.file,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: true,
        sourcesContent: false,
        banner: { js: REQUIRE_SHIM },
        plugins: [keepExternal(installed), lazyModules(found, next.inLazyDir)],
        metafile: true,
        absWorkingDir: REPO_ROOT,
        logLevel: 'silent',
      });
      metafiles.push(result.metafile);
      output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.js'))?.[1];
      // `"sideEffects": false` (package.json) lets esbuild drop a module none of whose
      // exports is used; an `import './x.js'` made for the module's side effects alone
      // would be dropped silently in the bundle while it runs under tsx and vitest.
      ignoredImports.push(...result.warnings.filter((warning) => warning.id === 'ignored-bare-import'));
      if (next.inLazyDir && onlyPackagesBeside(result.metafile, next.source)) dropSourceMap(next.file);
    } catch (error) {
      fail(`esbuild failed: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    // The lazy modules this file still imports: one whose importer was left out (unused) is not built.
    const imported = new Set((output?.imports ?? []).filter((i) => i.external).map((i) => path.basename(i.path, '.js')));
    for (const [source, lazyName] of found) {
      if (lazy.has(source) || !imported.has(lazyName)) continue;
      lazy.set(source, `${LAZY_DIR}/${lazyName}.js`);
      pending.push({ source, file: path.join(outdir, LAZY_DIR, `${lazyName}.js`), inLazyDir: true });
    }
  }
  const metafile = mergeMetafiles(metafiles);

  const ownFolder = `${repoPath(path.dirname(entry))}/`;
  const strays = inputsOutside(metafile, [ownFolder, 'shared/']);
  if (strays.length > 0) {
    fail(`the bundle includes ${strays.join(', ')}, outside ${ownFolder} and shared/ (a function imports only its own folder and shared/)`);
  }
  if (ignoredImports.length > 0) {
    const where = ignoredImports.map((w) => `${w.location?.file ?? '?'}: ${w.text}`).join('; ');
    fail(`${where} (our modules declare no import-time side effects; call what the import was for)`);
  }
  const packagesOnFirstUse = lazyImportsOfPackages(metafile);
  if (packagesOnFirstUse.length > 0) {
    fail(`${packagesOnFirstUse.join(', ')}: import a package on first use through a module of ours that re-exports it (shared/bigquery/library.ts)`);
  }
  const twice = staticImportsOfLazy(metafile, lazy.keys());
  if (twice.length > 0) fail(`${twice.join(', ')}, also imported on first use: it would be loaded twice`);

  const root = readRootPackage();
  const rootDependencies = root.dependencies ?? {};
  const undeclared = [...packagesImportedByOwnCode(metafile)].filter((pkg) => rootDependencies[pkg] === undefined);
  if (undeclared.length > 0) {
    fail(`the bundle imports ${undeclared.sort().join(', ')}, not listed in package.json "dependencies" (a runtime package must be one)`);
  }
  // The external packages imported, by our code or by an inlined package. One an inlined
  // package imports that is no dependency of ours (pg's optional `pg-native`) stays out.
  const used = [...externalPackages(metafile), FUNCTIONS_FRAMEWORK].filter((pkg) => rootDependencies[pkg] !== undefined);
  const dependencies = Object.fromEntries([...new Set(used)].sort().map((pkg) => [pkg, rootDependencies[pkg] as string]));

  const bundlePackage = {
    name: `cloudact-${name}`,
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: root.engines?.node ?? '>=20' },
    dependencies,
  };
  writeFileSync(path.join(outdir, 'package.json'), `${JSON.stringify(bundlePackage, null, 2)}\n`);
  const bytes = (file: string): number => metafile.outputs[repoPath(path.join(outdir, file))]?.bytes ?? 0;
  const lazyFiles = [...lazy.values()].sort();
  return {
    name,
    outfile,
    ms: Math.round(performance.now() - started),
    dependencies,
    startBytes: bytes('index.js'),
    lazyFiles,
    lazyBytes: lazyFiles.reduce((sum, file) => sum + bytes(file), 0),
  };
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
    const kb = (bytes: number): string => `${Math.round(bytes / 1024)} KB`.padStart(7);
    console.log(
      `${r.name.padEnd(width)}  ${file}  ${String(r.ms).padStart(5)} ms  at start ${kb(r.startBytes)}, on first use ${kb(r.lazyBytes)} (${r.lazyFiles.length} files)  installs: ${Object.keys(r.dependencies).join(', ')}`,
    );
  }
  console.log(`built ${results.length} function(s) in ${Math.round(performance.now() - started)} ms`);
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
