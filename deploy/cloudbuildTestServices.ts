/*
 * The services Cloud Build's test step gets, the way CI systems give them: containers beside
 * the step, reached by name. Cloud Build runs every step's container attached to a local
 * Docker network named `cloudbuild`, through which steps communicate
 * (https://cloud.google.com/build/docs/overview, "Build configuration and build steps"), so a
 * container started from a step with `docker run -d --network=cloudbuild --name=pg` is `pg`
 * to every later step and outlives the step that started it; a step that ran a server in the
 * foreground would never finish, and the build with it.
 *
 * The test step runs on node:20, which has neither Java nor the emulator, as root in a
 * container, where the embedded PostgreSQL (which refuses root) may not get the user
 * namespace it runs in: the harness takes both services from DATABASE_URL and
 * PUBSUB_EMULATOR_HOST instead (test/globalSetup.ts, test/fixtures/pubsub.ts). The emulator
 * pushes to servers in the test step, which listen on loopback: the fixture puts a relay for
 * each push endpoint on the step's address on the network.
 */

/** Image for the steps that start and stop the services (the Docker CLI, talking to the build's daemon; it has bash and curl). */
export const DOCKER_IMAGE = 'gcr.io/cloud-builders/docker';

/** The network Cloud Build attaches every step to. */
const BUILD_NETWORK = 'cloudbuild';

/** PostgreSQL for the tests: the official image, with as many connections as the embedded test server. */
const TEST_POSTGRES = {
  container: 'pg',
  image: 'postgres:16',
  // The image's POSTGRES_USER is a superuser: the tests create a database per run, and databases and roles of their own.
  user: 'cloudact',
  // Not a secret: the server lives for one build, on the build's own network.
  password: 'cloudact-ci',
  database: 'cloudact_test',
  // test/globalSetup.ts gives its embedded server 200: test files run in parallel, each with real pools.
  args: ['-c', 'max_connections=200', '-c', 'fsync=off'],
} as const;

/** The official Pub/Sub emulator (the Cloud SDK's `emulators` image: Java and the emulator component). */
const TEST_PUBSUB = {
  container: 'pubsub',
  image: 'gcr.io/google.com/cloudsdktool/google-cloud-cli:emulators',
  port: 8085,
  // The emulator serves any project a request names; each test file uses one of its own.
  project: 'cloudact-ci',
} as const;

/** How long the services get to answer once their containers run (image pulls come before) before the build fails with their logs. */
const READY_SECONDS = 180;

/** The containers the start step leaves running, by name. */
export const TEST_SERVICE_CONTAINERS: readonly string[] = [TEST_POSTGRES.container, TEST_PUBSUB.container];

/** What the test step is given: where its services are. */
export const TEST_SERVICE_ENV: readonly string[] = [
  `DATABASE_URL=postgres://${TEST_POSTGRES.user}:${TEST_POSTGRES.password}@${TEST_POSTGRES.container}:5432/${TEST_POSTGRES.database}`,
  `PUBSUB_EMULATOR_HOST=${TEST_PUBSUB.container}:${TEST_PUBSUB.port}`,
];

/**
 * The bash script of the start step: runs both services detached on the build network, then
 * polls until each answers, or fails the build with their logs.
 */
export function startTestServicesScript(): string {
  const pg = TEST_POSTGRES;
  const ps = TEST_PUBSUB;
  return [
    'set -eu',
    `docker run -d --network=${BUILD_NETWORK} --name=${pg.container} -e POSTGRES_USER=${pg.user} -e POSTGRES_PASSWORD=${pg.password} -e POSTGRES_DB=${pg.database} ${pg.image} ${pg.args.join(' ')}`,
    // 0.0.0.0: bound to its single network address instead, the emulator's REST front end
    // cannot reach its own gRPC server on loopback and answers every call with 503.
    `docker run -d --network=${BUILD_NETWORK} --name=${ps.container} ${ps.image} gcloud beta emulators pubsub start --host-port=0.0.0.0:${ps.port} --project=${ps.project}`,
    // This step is on the network too: it reaches the emulator by name. pg_isready over TCP
    // answers only for the final server (the image's init server listens on no TCP port).
    `for attempt in $(seq ${READY_SECONDS}); do`,
    `  if docker exec ${pg.container} pg_isready -q -h 127.0.0.1 -U ${pg.user} -d ${pg.database} && curl -fs http://${ps.container}:${ps.port}/ >/dev/null; then`,
    '    echo "test services ready after $attempt s"',
    '    exit 0',
    '  fi',
    '  sleep 1',
    'done',
    `docker logs ${pg.container}; docker logs ${ps.container}`,
    `echo "test services did not answer within ${READY_SECONDS} s" >&2`,
    'exit 1',
  ].join('\n');
}
