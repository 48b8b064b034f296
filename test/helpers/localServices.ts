import { spawnSync } from 'node:child_process';
import { inject } from 'vitest';
import { findGcloud } from '../../dev/pubsub/index.js';

/*
 * Some tests are about the services the local stack starts for itself: the embedded
 * PostgreSQL, the emulator harness, `npm start`. They need those services' tools. A CI step
 * that was given the services from outside (README, "Tests in CI") may have none of them: the
 * Cloud Build test step runs on node:20, as root, without Java or gcloud. There, and only
 * there, these tests are skipped with the reason; on any other run a missing tool fails
 * them, as it always did.
 */

/** Why the embedded PostgreSQL cannot run in this run, or undefined when it can (or the run's database is its own). */
export function embeddedPostgresSkipReason(): string | undefined {
  if (!inject('externalServices').postgres) return undefined;
  if (process.getuid?.() !== 0) return undefined;
  // As root the embedded server runs in a user namespace, as an unprivileged uid (dev/postgres.ts): try one the same way.
  const probe = spawnSync('unshare', ['--user', '--map-user=1', '--map-group=1', 'true'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? probe.stderr.trim();
  return `the run was given DATABASE_URL, and as root this machine cannot start the embedded PostgreSQL (no user namespace: ${why})`;
}

/** Why the Pub/Sub emulator cannot start in this run, or undefined when it can (or the run has no emulator of its own). */
export function pubsubEmulatorSkipReason(): string | undefined {
  if (!inject('externalServices').pubsub) return undefined;
  try {
    findGcloud();
    return undefined;
  } catch (error) {
    return `the run was given PUBSUB_EMULATOR_HOST, and this machine cannot start an emulator of its own (${(error as Error).message})`;
  }
}
