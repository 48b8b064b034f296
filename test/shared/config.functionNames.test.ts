import { describe, expect, it } from 'vitest';
import { manifest } from '../../deploy/manifest.js';
import { FUNCTION_NAMES, isFunctionName } from '../../shared/config/index.js';

describe('the canonical list of function names', () => {
  // The leak reaper only recognises connections of the functions it knows: a deployed
  // function missing from the list would leak connections nobody reaps.
  it.each(manifest.functions.map((fn) => fn.name))('names the manifest function %s', (name) => {
    expect(FUNCTION_NAMES).toContain(name);
  });

  it('holds each name once, in the manifest name format', () => {
    expect(new Set(FUNCTION_NAMES).size).toBe(FUNCTION_NAMES.length);
    for (const name of FUNCTION_NAMES) expect(name).toMatch(/^[a-z][a-z0-9-]{0,62}$/);
  });

  it.each([
    { name: 'pricing', known: true },
    { name: 'pipeline-worker', known: true },
    { name: 'unknownfn', known: false },
    { name: 'Pricing', known: false },
    { name: '', known: false },
  ])('says $name is a function of this app: $known', ({ name, known }) => {
    expect(isFunctionName(name)).toBe(known);
  });
});
