import { inject } from 'vitest';

// Every test file sees the run's database and never looks for Google credentials.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.DATABASE_URL = inject('databaseUrl');
// A run given an emulator hands it to the files that ask for one (test/fixtures/pubsub.ts,
// each in a project of its own); in the environment, every file and every process it starts
// sees what it would see without one.
delete process.env.PUBSUB_EMULATOR_HOST;
