import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../deploy/renderConnectionReport.js';

describe('formatDuration', () => {
  it.each([
    { seconds: 0, text: '0.0s' },
    { seconds: 4.25, text: '4.3s' },
    { seconds: 59.9, text: '59.9s' },
    { seconds: 307, text: '5m 07s' },
    { seconds: 3599, text: '59m 59s' },
    { seconds: 7380, text: '2h 03m' },
    { seconds: 273_600, text: '3d 04h' },
  ])('shows $seconds s as $text', ({ seconds, text }) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
