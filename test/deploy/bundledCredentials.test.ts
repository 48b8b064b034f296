import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFixture, fixtureEntry, startFunctionsFramework, type Bundle, type RunningFunction } from '../fixtures/runtime/functionsFramework.js';

/**
 * The build inlines google-auth-library, gaxios, gcp-metadata and the BigQuery client into
 * the files a function loads on first use. In Google Cloud they authenticate with the
 * service account's token from the metadata server, a path the local stack never takes
 * (it runs without credentials). Here it is taken, by the bundled code in a real function
 * process, against fakes at the HTTP boundary:
 * - the metadata server's token endpoint, as documented at
 *   https://cloud.google.com/compute/docs/access/authenticate-workloads#applications
 *   (`GET /computeMetadata/v1/instance/service-accounts/default/token` with
 *   `Metadata-Flavor: Google` → `{ access_token, expires_in, token_type }`);
 * - BigQuery's `datasets.list`, https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets/list
 *   (`GET /bigquery/v2/projects/{projectId}/datasets` → `{ kind: 'bigquery#datasetList', datasets: [...] }`).
 */

const TOKEN = 'ya29.fake-metadata-token';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

function listen(handler: (path: string, headers: IncomingHttpHeaders) => { status: number; body: unknown }, seen: Seen[]): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    seen.push({ path: url.pathname, headers: req.headers });
    const { status, body } = handler(url.pathname, req.headers);
    res.writeHead(status, { 'content-type': 'application/json', 'metadata-flavor': 'Google' });
    res.end(JSON.stringify(body));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (server: Server): number => (server.address() as AddressInfo).port;

describe('bundled client libraries authenticate with Application Default Credentials', () => {
  const metadataSeen: Seen[] = [];
  const bigQuerySeen: Seen[] = [];
  let metadata: Server;
  let bigQuery: Server;
  let bundle: Bundle;
  let fn: RunningFunction;
  let home: string;

  beforeAll(async () => {
    metadata = await listen((pathname, headers) => {
      if (headers['metadata-flavor'] !== 'Google') return { status: 403, body: 'Missing Metadata-Flavor header' };
      if (pathname === '/computeMetadata/v1/instance/service-accounts/default/token') {
        return { status: 200, body: { access_token: TOKEN, expires_in: 3599, token_type: 'Bearer' } };
      }
      if (pathname === '/computeMetadata/v1/project/project-id') return { status: 200, body: 'credentials-project' };
      return { status: 404, body: 'not found' };
    }, metadataSeen);
    bigQuery = await listen((pathname) => {
      if (pathname !== '/bigquery/v2/projects/credentials-project/datasets') return { status: 404, body: { error: { code: 404, message: 'Not found' } } };
      return {
        status: 200,
        body: {
          kind: 'bigquery#datasetList',
          etag: 'e1',
          datasets: [{ kind: 'bigquery#dataset', id: 'credentials-project:org_acme', datasetReference: { projectId: 'credentials-project', datasetId: 'org_acme' }, location: 'EU' }],
        },
      };
    }, bigQuerySeen);
    // No gcloud credentials file may stand in for the metadata server.
    home = mkdtempSync(path.join(os.tmpdir(), 'cloudact-adc-home-'));
    bundle = await bundleFixture(fixtureEntry('credentials'));
    fn = await startFunctionsFramework({
      target: 'credentials',
      source: bundle.dir,
      env: {
        METADATA_SERVER_DETECTION: 'assume-present',
        GCE_METADATA_HOST: `127.0.0.1:${portOf(metadata)}`,
        BIGQUERY_ENDPOINT: `http://127.0.0.1:${portOf(bigQuery)}`,
        HOME: home,
        CLOUDSDK_CONFIG: home,
        GOOGLE_APPLICATION_CREDENTIALS: '',
        NODE_DEBUG: 'module',
      },
    });
  });

  afterAll(async () => {
    await fn?.kill();
    bundle?.remove();
    metadata?.close();
    bigQuery?.close();
    if (home !== undefined) rmSync(home, { recursive: true, force: true });
  });

  it("google-auth-library (the Pub/Sub publisher's path) gets the service account token from the metadata server", async () => {
    const res = await fetch(`${fn.url}/token`);

    expect(await res.json()).toEqual({ authorization: `Bearer ${TOKEN}` });
    expect(metadataSeen.some((s) => s.path === '/computeMetadata/v1/instance/service-accounts/default/token')).toBe(true);
  });

  it('the BigQuery client sends that token with its requests and reads the answer', async () => {
    const res = await fetch(`${fn.url}/datasets`);

    expect(await res.json()).toEqual({ datasets: ['org_acme'] });
    const listed = bigQuerySeen.filter((s) => s.path === '/bigquery/v2/projects/credentials-project/datasets');
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.map((s) => s.headers.authorization)).toEqual(listed.map(() => `Bearer ${TOKEN}`));
    expect(listed[0]?.headers['user-agent']).toMatch(/^gcloud-node-bigquery\//);
  });

  it('was served by the lazy files, not by packages installed beside the bundle', () => {
    const installs = (JSON.parse(readFileSync(path.join(bundle.dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
    expect(Object.keys(installs)).toEqual(['@google-cloud/functions-framework']);
    // NODE_DEBUG=module: the CommonJS loader names every file it loads; none of these packages' files is among them.
    const loaded = fn.stderr.filter((line) => /node_modules\/(google-auth-library|gaxios|gcp-metadata|@google-cloud\/bigquery)\//.test(line));
    expect(fn.stderr.some((line) => line.includes('MODULE'))).toBe(true);
    expect(loaded).toEqual([]);
  });
});
