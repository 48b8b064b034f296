// Placeholder replaced by the migrations work (deploy/): applies plain-SQL migrations.
export async function migrate(_databaseUrl: string): Promise<void> {}
