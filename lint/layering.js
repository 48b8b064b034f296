// The layering rule of the repository, as a local ESLint rule: every import arrow points
// down, and a capability of shared/ is reached only through its index.ts.
//
//   functions/<name> → its own folder and shared/
//   shared           → shared/ only
//   deploy           → deploy/ and shared/
//   dev              → dev/, shared/ and deploy/
//   test, bench      → anything
//
// A local rule rather than `no-restricted-imports` patterns: those match the import text,
// and with relative paths the same text (`../x/y.js`) means a different folder in every
// file; this rule resolves each import against its file first. `npm run build` checks the
// same arrows again on what actually went into each bundle (deploy/build.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `lint/`). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const LAYERS = new Set(['functions', 'shared', 'deploy', 'dev', 'test', 'bench']);

/** What each production layer may import (test and bench may import anything). */
const ALLOWED = {
  shared: new Set(['shared']),
  functions: new Set(['functions', 'shared']),
  deploy: new Set(['deploy', 'shared']),
  dev: new Set(['dev', 'shared', 'deploy']),
};

/**
 * The layer of a file: its top folder and the folder below it (the function or the
 * capability), or undefined outside the layers (root config files, node_modules).
 * @param {string} file absolute path
 */
function locate(file) {
  const relative = path.relative(REPO_ROOT, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const parts = relative.split(path.sep);
  const layer = parts[0];
  if (layer === undefined || !LAYERS.has(layer)) return undefined;
  return { layer, unit: parts.length > 2 ? parts[1] : undefined, parts, relative: parts.join('/') };
}

/** @type {import('eslint').Rule.RuleModule} */
const importsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Imports point down the layers (functions → shared, deploy → shared, dev → shared|deploy) and reach shared/<cap>/ through its index.ts' },
    schema: [],
    messages: {
      wrongWay: '{{from}}/ may not import {{target}}: imports point down (functions → shared, deploy → shared, dev → shared|deploy; production code never imports dev/, test/ or bench/).',
      otherFunction: 'functions/{{from}}/ may not import {{target}}: a function imports only its own folder and shared/.',
      indexBypass: "Import shared/{{cap}}/index.js, not {{target}}: a capability's index.ts is its only public surface.",
    },
  },
  create(context) {
    const from = locate(context.filename);
    if (from === undefined) return {};

    /** @param {import('estree').Node} node @param {unknown} specifier */
    function check(node, specifier) {
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return; // packages and built-ins
      const to = locate(path.resolve(path.dirname(context.filename), specifier));
      if (to === undefined) return;
      const target = to.relative;
      const allowed = ALLOWED[from.layer];
      if (allowed !== undefined && !allowed.has(to.layer)) {
        context.report({ node, messageId: 'wrongWay', data: { from: from.layer, target } });
        return;
      }
      if (from.layer === 'functions' && to.layer === 'functions' && to.unit !== from.unit) {
        context.report({ node, messageId: 'otherFunction', data: { from: from.unit ?? '', target } });
        return;
      }
      // Tests and benchmarks may reach a capability's internals to test them.
      const isInternal = to.layer === 'shared' && to.parts.length > 2 && !/^index\.[jt]s$/.test(to.parts.at(-1) ?? '');
      const insideCapability = from.layer === 'shared' && from.unit === to.unit;
      if (isInternal && !insideCapability && from.layer !== 'test' && from.layer !== 'bench') {
        context.report({ node, messageId: 'indexBypass', data: { cap: to.unit ?? '', target } });
      }
    }

    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => {
        if (node.source) check(node.source, node.source.value);
      },
      ImportExpression: (node) => {
        if (node.source.type === 'Literal') check(node.source, node.source.value);
      },
    };
  },
};

/** The plugin `eslint.config.js` registers as `layering`. */
export default { meta: { name: 'layering' }, rules: { imports: importsRule } };
