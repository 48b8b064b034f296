import { inject } from 'vitest';

// Every test file sees the run's database and never looks for Google credentials.
process.env.METADATA_SERVER_DETECTION = 'none';
process.env.DATABASE_URL = inject('databaseUrl');
