import { describe, expect, it } from 'vitest';
import { formatTable } from '../../deploy/formatTable.js';

describe('formatTable', () => {
  it('aligns like psql: centred headers, numbers to the right, text to the left, a row count', () => {
    const rows = [
      { name: 'pricing:abc123', state: 'idle', n: 2 },
      { name: 'psql', state: null, n: 10 },
    ];

    const text = formatTable(rows, [
      { header: 'application_name', value: (r) => r.name },
      { header: 'state', value: (r) => r.state },
      { header: 'n', value: (r) => r.n, align: 'right' },
    ]);

    expect(text).toBe(
      [
        ' application_name | state | n',
        '------------------+-------+----',
        ' pricing:abc123   | idle  |  2',
        ' psql             |       | 10',
        '(2 rows)',
      ].join('\n'),
    );
  });

  it('prints the headers and (0 rows) for an empty result', () => {
    expect(formatTable([], [{ header: 'pid', value: () => 1, align: 'right' }])).toBe([' pid', '-----', '(0 rows)'].join('\n'));
  });
});
