import { z } from 'zod';

export const noQuery = z.strictObject({});
