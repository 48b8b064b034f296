/**
 * `lint/layering.js` through ESLint's Node API with the repository's own config: a planted
 * wrong-way or index-bypassing import fails, the arrows that point down pass, and the real
 * tree has none of the former. Type information is switched off here: the layering rule
 * does not need it, and the type-aware rules are `npm run lint`'s business.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../deploy/paths.js';

const RULE = 'layering/imports';

function eslint(): ESLint {
  return new ESLint({
    cwd: REPO_ROOT,
    overrideConfig: [tseslint.configs.disableTypeChecked],
    ruleFilter: ({ ruleId }) => ruleId === RULE,
  });
}

/** The layering messages ESLint gives `code` as if it were the file at `file` (repo-relative). */
async function layeringMessages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint().lintText(code, { filePath: path.join(REPO_ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe('the layering lint rule', () => {
  it.each([
    {
      case: 'shared/ importing a function',
      file: 'shared/http/planted.ts',
      code: "export { orgRoutes } from '../../functions/orgs/routes.js';",
      message: 'shared/ may not import functions/orgs/routes.js',
    },
    {
      case: 'shared/ importing deploy/',
      file: 'shared/audit/planted.ts',
      code: "import { manifest } from '../../deploy/manifest.js';\nexport const m = manifest;",
      message: 'shared/ may not import deploy/manifest.js',
    },
    {
      case: 'a function importing deploy/',
      file: 'functions/costs/planted.ts',
      code: "import { manifest } from '../../deploy/manifest.js';\nexport const m = manifest;",
      message: 'functions/ may not import deploy/manifest.js',
    },
    {
      case: 'a function importing another function',
      file: 'functions/costs/planted.ts',
      code: "import { loadQuota } from '../quota/quota.js';\nexport const q = loadQuota;",
      message: 'functions/costs/ may not import functions/quota/quota.js',
    },
    {
      case: 'a function importing dev/ (a dynamic import)',
      file: 'functions/orgs/planted.ts',
      code: "export const load = () => import('../../dev/random.js');",
      message: 'functions/ may not import dev/random.js',
    },
    {
      case: 'deploy/ importing a function',
      file: 'deploy/planted.ts',
      code: "import { orgRoutes } from '../functions/orgs/routes.js';\nexport const r = orgRoutes;",
      message: 'deploy/ may not import functions/orgs/routes.js',
    },
    {
      case: 'deploy/ importing dev/',
      file: 'deploy/planted.ts',
      code: "import { mulberry32 } from '../dev/random.js';\nexport const r = mulberry32;",
      message: 'deploy/ may not import dev/random.js',
    },
    {
      case: 'shared/ importing test/',
      file: 'shared/log/planted.ts',
      code: "import { captureLogs } from '../../test/fixtures/runtime/logs.js';\nexport const c = captureLogs;",
      message: 'shared/ may not import test/fixtures/runtime/logs.js',
    },
    {
      case: 'dev/ importing a function',
      file: 'dev/planted.ts',
      code: "import { orgRoutes } from '../functions/orgs/routes.js';\nexport const r = orgRoutes;",
      message: 'dev/ may not import functions/orgs/routes.js',
    },
    {
      case: "a function bypassing a capability's index.ts",
      file: 'functions/pricing/planted.ts',
      code: "import { encodeCursor } from '../../shared/http/cursor.js';\nexport const e = encodeCursor;",
      message: 'Import shared/http/index.js, not shared/http/cursor.js',
    },
    {
      case: "another capability bypassing a capability's index.ts",
      file: 'shared/audit/planted.ts',
      code: "import { match } from '../http/route.js';\nexport const m = match;",
      message: 'Import shared/http/index.js, not shared/http/route.js',
    },
  ])('fails on $case', async ({ file, code, message }) => {
    const messages = await layeringMessages(file, code);

    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it.each([
    { case: 'a function importing shared/ through an index', file: 'functions/costs/planted.ts', code: "export { log } from '../../shared/log/index.js';" },
    { case: 'a function importing its own files', file: 'functions/costs/planted.ts', code: "export { loadCosts } from './costs.js';" },
    { case: 'a capability importing its own files', file: 'shared/http/planted.ts', code: "export { match } from './route.js';" },
    { case: 'deploy/ importing shared/', file: 'deploy/planted.ts', code: "export { TIERS } from '../shared/deadline/index.js';" },
    { case: 'dev/ importing deploy/', file: 'dev/planted.ts', code: "export { manifest } from '../deploy/manifest.js';" },
    { case: 'a test importing a function and an internal', file: 'test/planted.ts', code: "export { orgRoutes } from '../functions/orgs/routes.js';\nexport { match } from '../shared/http/route.js';" },
  ])('passes $case', async ({ file, code }) => {
    expect(await layeringMessages(file, code)).toEqual([]);
  });

  it('finds no wrong-way or index-bypassing import in the real tree', async () => {
    // test/ and bench/ may import anything, so only the production layers and dev/ can break the rule.
    const results = await eslint().lintFiles(['functions', 'shared', 'deploy', 'dev']);
    const problems = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === RULE).map((m) => `${path.relative(REPO_ROOT, r.filePath)}:${m.line} ${m.message}`),
    );

    expect(results.length).toBeGreaterThan(100);
    expect(problems).toEqual([]);
    // Parsing a hundred-odd files takes a while on a busy two-core machine.
  }, 120_000);
});
