/**
 * Load jobs on the local endpoint: the shared load conformance cases through
 * the real client, then what the client hides — the two media-upload
 * protocols on the wire, the requests the endpoint refuses, and the CSV
 * reader and schema detection as tables of cases.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvDialect, csvRecords, isCsvRecordError } from '../../../dev/bigquery/csvRecords.js';
import { localBigQueryOptions, startBigQueryEndpoint } from '../../../dev/bigquery/index.js';
import type { BigQueryEndpoint } from '../../../dev/bigquery/index.js';
import { detectCsvSchema } from '../../../dev/bigquery/loadSchema.js';
import { defineLoadConformanceCases } from './loadConformance.js';

let endpoint: BigQueryEndpoint;
let bigquery: BigQuery;

beforeAll(async () => {
  endpoint = await startBigQueryEndpoint({ port: 0 });
  // The client's multipart upload needs request headers to exist, which only an auth
  // client provides: without one (no credentials found) teeny-request throws before sending.
  bigquery = new BigQuery(localBigQueryOptions(endpoint.url));
});

afterAll(async () => {
  await endpoint?.close();
});

describe('load jobs through the real client', () => {
  defineLoadConformanceCases(() => bigquery, 'load_conformance_local');
});

describe('media uploads on the wire', () => {
  const uploadUrl = (): string => `${endpoint.url}/upload/bigquery/v2/projects/local-project/jobs`;
  const loadJob = (tableId: string, jobId?: string): Record<string, unknown> => ({
    ...(jobId ? { jobReference: { projectId: 'local-project', jobId } } : {}),
    configuration: {
      load: {
        destinationTable: { projectId: 'local-project', datasetId: 'load_wire', tableId },
        schema: { fields: [{ name: 'n', type: 'INTEGER' }] },
      },
    },
  });
  const waitForJob = async (jobId: string): Promise<Record<string, unknown>> => {
    const [metadata] = (await bigquery.job(jobId).promise()) as [Record<string, unknown>];
    return metadata;
  };
  const count = async (table: string): Promise<number> => {
    const [rows] = await bigquery.query(`SELECT COUNT(*) AS n FROM load_wire.${table}`);
    return (rows as { n: number }[])[0]?.n ?? -1;
  };

  beforeAll(async () => {
    await bigquery.createDataset('load_wire');
  });

  it('takes a resumable upload in three chunks, answering 308 with the Range received until the last, then the job', async () => {
    const start = await fetch(`${uploadUrl()}?uploadType=resumable`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(loadJob('resumable', 'resumable_job')) });
    expect(start.status).toBe(200);
    const session = start.headers.get('location') as string;
    expect(session).toContain('upload_id=');
    const data = Buffer.from('1\n2\n3\n4\n');
    const put = (from: number, to: number): Promise<Response> =>
      fetch(session, { method: 'PUT', headers: { 'content-range': `bytes ${from}-${to - 1}/${data.length}` }, body: data.subarray(from, to) });
    const first = await put(0, 4);
    expect(first.status).toBe(308);
    expect(first.headers.get('range')).toBe('bytes=0-3');
    const status = await fetch(session, { method: 'PUT', headers: { 'content-range': `bytes */${data.length}` } });
    expect(status.status).toBe(308);
    expect(status.headers.get('range')).toBe('bytes=0-3');
    // The same chunk again (as after a lost answer) adds nothing.
    expect((await put(0, 4)).status).toBe(308);
    expect((await put(4, 6)).status).toBe(308);
    const last = await put(6, 8);
    expect(last.status).toBe(200);
    const job = (await last.json()) as { jobReference: { jobId: string } };
    expect(job.jobReference.jobId).toBe('resumable_job');
    const done = (await waitForJob('resumable_job')) as { statistics: { load: Record<string, string> } };
    expect(done.statistics.load).toMatchObject({ inputFiles: '1', inputFileBytes: String(data.length), outputRows: '4', badRecords: '0' });
    expect(await count('resumable')).toBe(4);
  });

  it('takes a multipart/related upload with a quoted boundary (the form bq sends for an empty file)', async () => {
    const boundary = '===============123==';
    const body = [`--${boundary}`, 'Content-Type: application/json', '', JSON.stringify(loadJob('multipart', 'multipart_job')), `--${boundary}`, 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: binary', '', '5\n6', `--${boundary}--`, ''].join('\r\n');
    const res = await fetch(`${uploadUrl()}?uploadType=multipart`, { method: 'POST', headers: { 'content-type': `multipart/related; boundary="${boundary}"` }, body });
    expect(res.status).toBe(200);
    await waitForJob('multipart_job');
    expect(await count('multipart')).toBe(2);
  });

  it('answers 409 duplicate for an upload whose job id is taken', async () => {
    const body = (id: string): string => JSON.stringify(loadJob('dup', id));
    const start = await fetch(`${uploadUrl()}?uploadType=resumable`, { method: 'POST', body: body('resumable_job') });
    const put = await fetch(start.headers.get('location') as string, { method: 'PUT', headers: { 'content-range': 'bytes 0-1/2' }, body: '1\n' });
    expect(put.status).toBe(409);
    expect(((await put.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]?.reason).toBe('duplicate');
  });

  const refused: { name: string; url: () => string; init: RequestInit; status: number; reason: string; message: string }[] = [
    {
      name: 'an upload without configuration.load',
      url: () => `${uploadUrl()}?uploadType=resumable`,
      init: { method: 'POST', body: JSON.stringify({ configuration: { query: { query: 'SELECT 1' } } }) },
      status: 400,
      reason: 'invalid',
      message: 'configuration.load is required',
    },
    { name: 'uploadType=media (data without a job)', url: () => `${uploadUrl()}?uploadType=media`, init: { method: 'POST', body: '1\n' }, status: 400, reason: 'invalid', message: 'uploadType=media' },
    { name: 'an unknown upload session', url: () => `${uploadUrl()}?uploadType=resumable&upload_id=nope`, init: { method: 'PUT', body: '1\n' }, status: 404, reason: 'notFound', message: 'Upload session nope' },
  ];

  it.each(refused)('refuses $name with $status $reason', async ({ url, init, status, reason, message }) => {
    const res = await fetch(url(), init);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { message: string; errors: { reason: string }[] } };
    expect(body.error.errors[0]?.reason).toBe(reason);
    expect(body.error.message).toContain(message);
  });

  it('refuses jobs.insert of a load job from Cloud Storage URIs with 400, naming what is supported', async () => {
    const res = await fetch(`${endpoint.url}/bigquery/v2/projects/local-project/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ configuration: { load: { sourceUris: ['gs://b/f.csv'], destinationTable: { datasetId: 'load_wire', tableId: 'gcs' } } } }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('uploaded load jobs are supported');
  });
});

describe('the CSV reader', () => {
  const cases: { name: string; text: string; options?: Record<string, unknown>; records: (string[] | string)[] }[] = [
    { name: 'plain fields, CRLF and a missing final newline', text: 'a,b\r\nc,d', records: [['a', 'b'], ['c', 'd']] },
    { name: 'blank lines skipped', text: 'a\n\n\nb\n', records: [['a'], ['b']] },
    { name: 'empty fields, a trailing delimiter', text: ',x,\n', records: [['', 'x', '']] },
    { name: 'a quoted delimiter and a doubled quote', text: '"a,b","say ""hi"""\n', records: [['a,b', 'say "hi"']] },
    { name: 'a quoted newline refused by default, the next line read again', text: '"a\nb"\nc\n', records: ['Missing close double quote', ['b"'], ['c']] },
    { name: 'a quoted newline kept with allowQuotedNewlines', text: '"a\nb",c\n', options: { allowQuotedNewlines: true }, records: [['a\nb', 'c']] },
    { name: 'data after a closing quote', text: '"a"b,c\nd\n', records: ['Data between close double quote', ['d']] },
    { name: 'a tab delimiter named \\t', text: 'a\tb\n', options: { fieldDelimiter: '\\t' }, records: [['a', 'b']] },
    { name: 'quoting off with an empty quote', text: '"a",b\n', options: { quote: '' }, records: [['"a"', 'b']] },
  ];

  it.each(cases)('splits $name', ({ text, options = {}, records }) => {
    const out = [...csvRecords(text, csvDialect(options))].map((r) => (isCsvRecordError(r) ? r.error : r.fields));
    expect(out.length).toBe(records.length);
    records.forEach((expected, i) => {
      if (typeof expected === 'string') expect(out[i]).toContain(expected);
      else expect(out[i]).toEqual(expected);
    });
  });

  it('refuses a delimiter of more than one character', () => {
    expect(() => csvDialect({ fieldDelimiter: ';;' })).toThrow('single character');
  });
});

describe('CSV schema detection', () => {
  const records = (text: string): { fields: string[]; quoted: boolean[]; offset: number }[] =>
    [...csvRecords(text, csvDialect({}))].filter((r) => !isCsvRecordError(r)) as { fields: string[]; quoted: boolean[]; offset: number }[];
  const cases: { name: string; text: string; skip?: number; names: string[]; types: string[]; leadingRows: number }[] = [
    { name: 'a header of strings over typed rows', text: 'id,day\n1,2024-01-01\n', names: ['id', 'day'], types: ['INTEGER', 'DATE'], leadingRows: 1 },
    { name: 'all-string rows (no header can be told apart)', text: 'a,b\nc,d\n', names: ['string_field_0', 'string_field_1'], types: ['STRING', 'STRING'], leadingRows: 0 },
    { name: 'no header with skipLeadingRows 0', text: 'id\n1\n', skip: 0, names: ['string_field_0'], types: ['STRING'], leadingRows: 0 },
    { name: 'the header in row N with skipLeadingRows N', text: 'junk\nn,ok\n1,true\n', skip: 2, names: ['n', 'ok'], types: ['INTEGER', 'BOOLEAN'], leadingRows: 2 },
    { name: 'INT64 widened to FLOAT64, a date mixed with text as STRING', text: 'x,y\n1,2024-01-01\n2.5,soon\n', names: ['x', 'y'], types: ['FLOAT', 'STRING'], leadingRows: 1 },
    { name: 'a column empty in every row as STRING, header names made valid', text: 'total cost,2nd\n1,\n', names: ['total_cost', '_2nd'], types: ['INTEGER', 'STRING'], leadingRows: 1 },
    { name: 'timestamps with a zone', text: 'at\n2024-01-01 10:00:00 UTC\n2024-01-02T03:04:05Z\n', names: ['at'], types: ['TIMESTAMP'], leadingRows: 1 },
  ];

  it.each(cases)('detects $name', ({ text, skip, names, types, leadingRows }) => {
    const detected = detectCsvSchema(records(text), skip);
    expect(detected.fields.map((f) => f.name)).toEqual(names);
    expect(detected.fields.map((f) => f.type)).toEqual(types);
    expect(detected.leadingRows).toBe(leadingRows);
  });
});
