import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file lives in `deploy/`). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where `npm run build` writes `dist/<name>/`, the folder `gcloud --source` uploads. */
export const DIST_DIR = path.join(REPO_ROOT, 'dist');
