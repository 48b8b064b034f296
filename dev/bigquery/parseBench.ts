/**
 * Parse-speed benchmark: every SQL text of the tests' corpus
 * (`test/dev/bigquery/sql/corpus.json`, the distinct texts `test/dev/bigquery`
 * sends to the endpoint) through the parser alone (tokenize + syntax tree) and
 * through the whole translation (parse, resolve, emit), in µs per statement.
 *
 *   npx tsx dev/bigquery/parseBench.ts
 *
 * Only texts the endpoint accepts are timed; 3 warm-up rounds, then `rounds`.
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(benchParse(loadCorpus(join(import.meta.dirname, '../..')))));
}
