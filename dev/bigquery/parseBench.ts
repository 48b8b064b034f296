/**
 * Parse-speed benchmark: every SQL text of the tests' corpus
 * (`test/dev/bigquery/sql/corpus.json`, the distinct texts `test/dev/bigquery`
 * sends to the endpoint) through the parser alone (tokenize + syntax tree) and
 * through the whole translation (parse, resolve, emit), in µs per statement.
 *
 *   npx tsx dev/bigquery/parseBench.ts
 *   npx tsx dev/bigquery/parseBench.ts --baseline /path/to/other/checkout [--rounds 60]
 *
 * Only texts the endpoint accepts are timed; 3 warm-up rounds, then `rounds`.
 * With `--baseline`, the other checkout's pipeline is loaded into the same
 * process and the two are timed in alternating rounds over the texts both
 * accept (medians of the rounds), so a loaded machine slows both alike. A
 * checkout from before the syntax tree parses with `tokenize` + `buildTree`
 * (its bracket tree).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseSql, translateQuery } from './sql/index.js';
import type { TranslateContext } from './sql/index.js';

/** µs per statement, mean over the measured rounds. */
export interface ParseBench {
  statements: number;
  parseUs: number;
  translateUs: number;
}

const CTX: TranslateContext = { projectId: 'local-project', requestProjectId: 'local-project', defaultDataset: { datasetId: 'ds' } };

/** The corpus of SQL texts the tests send. */
export function loadCorpus(repoRoot: string): string[] {
  return JSON.parse(readFileSync(join(repoRoot, 'test/dev/bigquery/sql/corpus.json'), 'utf8')) as string[];
}

function accepted(sql: string): boolean {
  try {
    translateQuery(sql, CTX);
    return true;
  } catch {
    return false;
  }
}

function timePerStatement(texts: string[], rounds: number, run: (sql: string) => unknown): number {
  for (let r = 0; r < 3; r++) for (const t of texts) run(t);
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const t of texts) run(t);
  const ns = Number(process.hrtime.bigint() - start);
  return Math.round((ns / 1000 / (rounds * texts.length)) * 10) / 10;
}

/** Times the parser and the whole translation over the accepted texts of `corpus`. */
export function benchParse(corpus: string[], rounds = 20): ParseBench {
  const texts = corpus.filter(accepted);
  return {
    statements: texts.length,
    parseUs: timePerStatement(texts, rounds, parseSql),
    translateUs: timePerStatement(texts, rounds, (sql) => translateQuery(sql, CTX)),
  };
}

/** A checkout's pipeline: parse only, and the whole translation. */
interface Pipeline {
  parse: (sql: string) => unknown;
  translate: (sql: string) => unknown;
}

async function loadPipeline(root: string): Promise<Pipeline> {
  const sql = (await import(pathToFileURL(join(root, 'dev/bigquery/sql/index.ts')).href)) as Record<string, unknown>;
  const translate = (text: string): unknown => (sql.translateQuery as (s: string, c: TranslateContext) => unknown)(text, CTX);
  if (typeof sql.parseSql === 'function') return { parse: sql.parseSql as (s: string) => unknown, translate };
  const tree = (await import(pathToFileURL(join(root, 'dev/bigquery/sql/tree.ts')).href)) as { buildTree: (tokens: unknown[]) => unknown };
  const tokenize = sql.tokenize as (s: string) => { tokens: unknown[] };
  return { parse: (text) => tree.buildTree(tokenize(text).tokens), translate };
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round((sorted[Math.floor(sorted.length / 2)] as number) * 10) / 10;
}

/** This checkout against `baselineRoot`, alternating rounds; µs per statement (medians). */
export async function benchAgainst(corpus: string[], baselineRoot: string, rounds = 20): Promise<{ statements: number; baseline: ParseBench; current: ParseBench }> {
  const base = await loadPipeline(baselineRoot);
  const accepts = (p: Pipeline, text: string): boolean => {
    try {
      p.translate(text);
      return true;
    } catch {
      return false;
    }
  };
  const texts = corpus.filter((t) => accepted(t) && accepts(base, t));
  const current: Pipeline = { parse: parseSql, translate: (text) => translateQuery(text, CTX) };
  const samples = { bp: [] as number[], bt: [] as number[], cp: [] as number[], ct: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    samples.bp.push(timePerStatement(texts, 1, base.parse));
    samples.cp.push(timePerStatement(texts, 1, current.parse));
    samples.bt.push(timePerStatement(texts, 1, base.translate));
    samples.ct.push(timePerStatement(texts, 1, current.translate));
  }
  const n = texts.length;
  return {
    statements: n,
    baseline: { statements: n, parseUs: median(samples.bp), translateUs: median(samples.bt) },
    current: { statements: n, parseUs: median(samples.cp), translateUs: median(samples.ct) },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const corpus = loadCorpus(join(import.meta.dirname, '../..'));
  const at = process.argv.indexOf('--baseline');
  const baseline = at >= 0 ? process.argv[at + 1] : undefined;
  const r = process.argv.indexOf('--rounds');
  const rounds = r >= 0 ? Number(process.argv[r + 1]) : 20;
  console.log(JSON.stringify(baseline ? await benchAgainst(corpus, baseline, rounds) : benchParse(corpus, rounds)));
}
