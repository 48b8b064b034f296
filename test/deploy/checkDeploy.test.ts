import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../deploy/checkDeploy.js';
import { manifest, parseManifest } from '../../deploy/manifest.js';
import { eventFnInput, fnInput, manifestInput } from './manifestCases.js';

describe('checkManifest', () => {
  it.each([
    {
      case: 'well within the budget',
      functions: [fnInput('alpha', { maxInstances: 3, dbPoolMax: 2 }), fnInput('beta', { maxInstances: 4 })],
    },
    {
      case: 'exactly at the budget (20 + 2 headroom = 22 usable)',
      functions: [fnInput('alpha', { maxInstances: 10, dbPoolMax: 2 })],
    },
    {
      case: 'a batch function whose timeout fits 300 s + the 1 s margin',
      functions: [fnInput('alpha', { tiers: ['auth', 'batch'], timeoutSeconds: 301 })],
    },
    {
      case: 'an event function at the 540 s limit',
      functions: [fnInput('alpha', { trigger: { type: 'topic', topic: 'runs' }, timeoutSeconds: 540, tiers: ['batch'] })],
    },
  ])('passes a manifest $case', ({ functions }) => {
    const result = checkManifest(parseManifest(manifestInput(functions)));

    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it.each([
    {
      case: 'fails naming the numbers when the connection budget is exceeded',
      input: manifestInput([fnInput('alpha', { maxInstances: 8, dbPoolMax: 3 })]),
      problem:
        'connection budget exceeded: Σ(max instances × pool max) = 24 + admin headroom 2 = 26 > 22 usable on db-f1-micro (25 − 3 reserved)',
    },
    {
      case: 'counts the admin headroom against the budget',
      input: manifestInput([fnInput('alpha', { maxInstances: 10, dbPoolMax: 2 })], { adminHeadroom: 3 }),
      problem:
        'connection budget exceeded: Σ(max instances × pool max) = 20 + admin headroom 3 = 23 > 22 usable on db-f1-micro (25 − 3 reserved)',
    },
    {
      case: 'fails naming function, tier and numbers when a tier outlasts the timeout',
      input: manifestInput([fnInput('alpha', { tiers: ['auth', 'user', 'batch'], timeoutSeconds: 300 })]),
      problem: 'alpha: tier batch needs 300 s + 1 s safety margin = 301 s > timeout 300 s',
    },
    {
      case: 'counts the configured safety margin',
      input: manifestInput([fnInput('alpha', { tiers: ['integration'], timeoutSeconds: 61 })], { safetyMarginMs: 1500 }),
      problem: 'alpha: tier integration needs 60 s + 1.5 s safety margin = 61.5 s > timeout 61 s',
    },
    {
      case: 'fails with the numbers when an event function may run longer than 540 s',
      input: manifestInput([
        fnInput('alpha', { trigger: { type: 'topic', topic: 'pipeline-runs' }, timeoutSeconds: 600, tiers: ['batch'] }),
      ]),
      problem: 'alpha: event functions may run at most 540 s, timeout is 600 s',
    },
    {
      case: 'fails when an event function may outlast its subscription’s ack deadline',
      input: manifestInput([eventFnInput('alpha', { ackDeadlineSeconds: 300 }, { timeoutSeconds: 320 })]),
      problem: "alpha: timeout 320 s outlasts its subscription's ack deadline of 300 s (Pub/Sub would redeliver while it runs)",
    },
    {
      case: 'fails with the numbers when an HTTP function may run longer than 3600 s',
      input: manifestInput([fnInput('alpha', { timeoutSeconds: 3700 })]),
      problem: 'alpha: HTTP functions may run at most 3600 s, timeout is 3700 s',
    },
    {
      case: 'fails when concurrency above 1 is asked of less than one vCPU',
      input: manifestInput([fnInput('alpha', { cpu: 0.583, memory: '1Gi', concurrency: 8 })]),
      problem: 'alpha: concurrency 8 needs at least 1 vCPU, cpu is 0.583',
    },
  ])('$case', ({ input, problem }) => {
    const result = checkManifest(parseManifest(input));

    expect(result.ok).toBe(false);
    expect(result.problems).toEqual([problem]);
  });

  it('reports every broken rule at once', () => {
    const input = manifestInput([
      fnInput('alpha', { maxInstances: 10, dbPoolMax: 3, tiers: ['batch'], timeoutSeconds: 60 }),
      fnInput('beta', { trigger: { type: 'topic', topic: 'events' }, timeoutSeconds: 900, tiers: ['batch'] }),
    ]);

    const { ok, problems } = checkManifest(parseManifest(input));

    expect(ok).toBe(false);
    // beta breaks two event rules: the 540 s platform limit and the 600 s ack deadline.
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^connection budget exceeded: .* = 32 \+ admin headroom 2 = 34 > 22/);
  });

  it('prints a summary with each function’s connections, the total, the usable count and the spare', () => {
    const { summary } = checkManifest(parseManifest(manifestInput([fnInput('alpha', { maxInstances: 3, dbPoolMax: 2 })])));

    expect(summary).toMatch(/^alpha\s+60s\s+3\s+×\s+2\s+=\s+6$/m);
    expect(summary).toMatch(/^total Σ\(max instances × pool max\)\s+6$/m);
    expect(summary).toMatch(/^\+ admin headroom\s+2$/m);
    expect(summary).toMatch(/^usable \(25 − 3 reserved\)\s+22$/m);
    expect(summary).toMatch(/^spare\s+14$/m);
  });

  it('passes the real manifest', () => {
    const result = checkManifest(manifest);

    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    for (const fn of manifest.functions) expect(result.summary).toContain(fn.name);
  });
});
