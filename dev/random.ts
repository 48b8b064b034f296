/**
 * The demo generator's PRNG, re-exported for dev scripts and generated test input: one
 * implementation, which lives beside the demo usage it must reproduce.
 */
export { mulberry32 } from '../shared/demo/index.js';
