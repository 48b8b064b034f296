/**
 * The ledger behind the local endpoint's transaction conflicts (dev/bigquery/transactions.ts):
 * which of two overlapping transactions BigQuery's table-level rule aborts, case by case.
 */
import { describe, expect, it } from 'vitest';
import { concurrentUpdateError, TransactionLedger } from '../../../dev/bigquery/transactions.js';

const T = { projectId: 'p', datasetId: 'ds', tableId: 't' };
const U = { projectId: 'p', datasetId: 'ds', tableId: 'u' };

describe('TransactionLedger', () => {
  it.each([
    { case: 'both delete from the table', first: [[T, 'DELETE']], second: [[T, 'DELETE']], aborted: true },
    { case: 'the winner deleted, the loser only inserted', first: [[T, 'DELETE']], second: [[T, 'INSERT']], aborted: true },
    { case: 'the winner only inserted, the loser deleted', first: [[T, 'INSERT']], second: [[T, 'DELETE'], [T, 'INSERT']], aborted: true },
    { case: 'both update the table', first: [[T, 'UPDATE']], second: [[T, 'UPDATE']], aborted: true },
    { case: 'both only insert (appends run side by side)', first: [[T, 'INSERT']], second: [[T, 'INSERT']], aborted: false },
    { case: 'they write different tables', first: [[T, 'DELETE']], second: [[U, 'DELETE']], aborted: false },
  ] as const)('aborts the later committer of two overlapping transactions when $case: $aborted', ({ first, second, aborted }) => {
    const ledger = new TransactionLedger();
    const a = ledger.begin();
    const b = ledger.begin();
    for (const [table, type] of first) ledger.wrote(a, table, type);
    for (const [table, type] of second) ledger.wrote(b, table, type);

    expect(ledger.commit(a)).toBeUndefined();
    ledger.end(a);
    expect(ledger.commit(b)).toEqual(aborted ? T : undefined);
  });

  it('does not abort a transaction that began after the other committed', () => {
    const ledger = new TransactionLedger();
    const a = ledger.begin();
    const held = ledger.begin(); // keeps the ledger's memory of a's commit alive
    ledger.wrote(a, T, 'DELETE');
    expect(ledger.commit(a)).toBeUndefined();
    ledger.end(a);

    const b = ledger.begin();
    ledger.wrote(b, T, 'DELETE');
    expect(ledger.commit(b)).toBeUndefined();
    ledger.end(b);
    ledger.end(held);
    expect(ledger.open).toBe(0);
  });

  it('forgets commits once no transaction is open, and ends a transaction once however often it is ended', () => {
    const ledger = new TransactionLedger();
    const a = ledger.begin();
    ledger.wrote(a, T, 'DELETE');
    ledger.commit(a);
    ledger.end(a);
    ledger.end(a);
    expect(ledger.open).toBe(0);

    const b = ledger.begin();
    ledger.wrote(b, T, 'DELETE');
    expect(ledger.commit(b)).toBeUndefined();
  });

  it('words the error as BigQuery does, naming the table, the transaction and where it was found', () => {
    const ledger = new TransactionLedger();
    const tx = ledger.begin();
    const error = concurrentUpdateError('local-project', { projectId: '', datasetId: 'org_acme', tableId: 'llm_usage_daily' }, tx, 7, 1);

    expect(error.httpStatus).toBe(400);
    expect(error.reason).toBe('invalidQuery');
    expect(error.message).toBe(`Query error: Transaction is aborted due to concurrent update against table local-project:org_acme.llm_usage_daily. Transaction ID: ${tx.id} at [7:1]`);
  });
});
