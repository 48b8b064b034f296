/**
 * The `bq` CLI (Google Cloud SDK) against a running local endpoint: `bq load`
 * (a resumable media upload; a multipart one for an empty file) and `bq query`.
 *
 * How `bq` runs offline against it, without any Google account:
 *
 *   bq --api=<endpoint url> --discovery_file=<sdk>/platform/bq/discovery_next/bigquery.json \
 *      --project_id=local-project …
 *
 * with `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE` pointing at a file holding any text:
 * the gcloud wrapper around `bq` refuses to start without an account unless it
 * is given an access token, and the endpoint ignores the token it then sends.
 * `HOME` and `CLOUDSDK_CONFIG` point into a scratch folder so nothing of the
 * user's own gcloud configuration is read or written. `--discovery_file` is the
 * discovery document that ships with this `bq`, so no request goes to Google.
 *
 * Skipped, with the reason printed, on a machine without the Cloud SDK.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBigQueryEndpoint } from '../../../dev/bigquery/index.js';
import type { BigQueryEndpoint } from '../../../dev/bigquery/index.js';

/** The SDK's own discovery document for `bq`, or undefined without the SDK. */
function bqDiscoveryFile(): string | undefined {
  try {
    const bq = realpathSync(execFileSync('which', ['bq'], { encoding: 'utf8' }).trim());
    const file = join(dirname(bq), '..', 'platform', 'bq', 'discovery_next', 'bigquery.json');
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

const discoveryFile = bqDiscoveryFile();
if (!discoveryFile) console.log('bqCli.test.ts skipped: the `bq` CLI (Google Cloud SDK) is not installed');

/** Each `bq` call starts gcloud (`gcloud config list`) first: seconds each on a loaded machine. */
const BQ_CALL_TIMEOUT_MS = 120_000;

(discoveryFile ? describe : describe.skip)('the bq CLI against the local endpoint', () => {
  let endpoint: BigQueryEndpoint;
  let scratch: string;

  beforeAll(async () => {
    endpoint = await startBigQueryEndpoint({ port: 0 });
    scratch = mkdtempSync(join(tmpdir(), 'bq-cli-'));
    mkdirSync(join(scratch, 'gcloud'));
    writeFileSync(join(scratch, 'token'), 'local-endpoint-ignores-this-token\n');
  });

  afterAll(async () => {
    await endpoint?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Runs `bq <args>` against the endpoint; resolves with its exit code and output. */
  const bq = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const env = {
        PATH: process.env.PATH,
        HOME: scratch,
        CLOUDSDK_CONFIG: join(scratch, 'gcloud'),
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(scratch, 'token'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      };
      const common = [`--api=${endpoint.url}`, `--discovery_file=${discoveryFile as string}`, '--project_id=local-project', '--quiet', '--headless'];
      execFile('bq', [...common, ...args], { env, timeout: BQ_CALL_TIMEOUT_MS }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  const dataFile = (name: string, text: string): string => {
    const path = join(scratch, name);
    writeFileSync(path, text);
    return path;
  };
  const query = async (sql: string): Promise<Record<string, string>[]> => {
    const r = await bq('--format=json', 'query', '--nouse_legacy_sql', sql);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return JSON.parse(r.stdout) as Record<string, string>[];
  };

  it(
    'loads an auto-detected CSV with bq load (resumable upload), shows its schema with bq show and reads it with bq query',
    async () => {
      expect((await bq('mk', 'cli')).code).toBe(0);
      const csv = dataFile('usage.csv', 'org,tokens,cost,day\nacme,10,0.5,2024-05-01\nglobex,20,1.25,2024-05-02\nacme,5,0.25,2024-05-02\n');
      const loaded = await bq('load', '--autodetect', 'cli.usage', csv);
      expect(loaded.code, loaded.stderr + loaded.stdout).toBe(0);
      const shown = await bq('--format=json', 'show', 'cli.usage');
      expect(shown.code, shown.stderr).toBe(0);
      const table = JSON.parse(shown.stdout) as { numRows: string; schema: { fields: { name: string; type: string }[] } };
      expect(table.numRows).toBe('3');
      expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['org:STRING', 'tokens:INTEGER', 'cost:FLOAT', 'day:DATE']);
      expect(await query('SELECT org, SUM(tokens) AS tokens FROM cli.usage GROUP BY org ORDER BY org')).toEqual([
        { org: 'acme', tokens: '15' },
        { org: 'globex', tokens: '20' },
      ]);
    },
    BQ_CALL_TIMEOUT_MS * 5,
  );

  it(
    'appends newline-delimited JSON with a schema, replaces it with --replace, and loads an empty file (multipart upload)',
    async () => {
      const json = dataFile('events.json', '{"id":1,"kind":"a"}\n{"id":2,"kind":"b"}\n');
      expect((await bq('load', '--source_format=NEWLINE_DELIMITED_JSON', 'cli.events', json, 'id:INTEGER,kind:STRING')).code).toBe(0);
      expect((await bq('load', '--source_format=NEWLINE_DELIMITED_JSON', 'cli.events', json)).code).toBe(0);
      expect(await query('SELECT COUNT(*) AS n FROM cli.events')).toEqual([{ n: '4' }]);
      const replaced = await bq('load', '--replace', '--source_format=NEWLINE_DELIMITED_JSON', 'cli.events', dataFile('one.json', '{"id":9,"kind":"z"}\n'));
      expect(replaced.code, replaced.stderr + replaced.stdout).toBe(0);
      const empty = await bq('load', 'cli.events', dataFile('empty.csv', ''), 'id:INTEGER,kind:STRING');
      expect(empty.code, empty.stderr + empty.stdout).toBe(0);
      expect(await query('SELECT id, kind FROM cli.events')).toEqual([{ id: '9', kind: 'z' }]);
    },
    BQ_CALL_TIMEOUT_MS * 5,
  );

  it(
    'exits non-zero and prints the bad row when bq load meets a value that does not parse, leaving the table as it was',
    async () => {
      const bad = await bq('load', 'cli.usage', dataFile('bad.csv', 'initech,many,1.0,2024-05-03\n'));
      expect(bad.code).not.toBe(0);
      // bq wraps its messages at 80 columns.
      const printed = (bad.stdout + bad.stderr).replace(/\s+/g, ' ');
      expect(printed).toContain('too many errors');
      expect(printed).toContain("Could not parse 'many' as INT64");
      expect(await query('SELECT COUNT(*) AS n FROM cli.usage')).toEqual([{ n: '3' }]);
    },
    BQ_CALL_TIMEOUT_MS * 3,
  );
});
