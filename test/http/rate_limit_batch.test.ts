// Request limits counted in groups (src/storage/rate_limit_batch.ts): concurrent hits share one
// statement, yet each still gets its own exact count, as if counted alone; a failed statement fails
// every hit in it (the request is not let through uncounted).
import { expect } from 'chai';
import { batchedRateLimitCounter } from '../../src/storage/rate_limit_batch.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

describe('request limits counted in groups', () => {
  let database: TestDatabase;
  let statements = 0;

  before(async () => {
    database = await createTestDatabase();
    database.db.on('query', (query: { sql: string }) => {
      if (query.sql.includes('insert into rate_limits')) statements += 1;
    });
  });
  after(() => database.close());

  it('gives 60 parallel hits on one key the counts 1..60, in fewer statements than hits', async () => {
    const hit = batchedRateLimitCounter(database.db, 60);
    statements = 0;
    const windows = await Promise.all(Array.from({ length: 60 }, () => hit('token:192.0.2.1')));
    expect(windows.map((window) => window.count).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(statements).to.be.lessThan(60).and.greaterThan(0);
    const row = await database.db('rate_limits').where({ key: 'token:192.0.2.1' }).first();
    expect(Number(row.count)).to.equal(60);
  });

  it('keeps keys apart within one statement, and goes on from the stored count', async () => {
    const hit = batchedRateLimitCounter(database.db, 60);
    const keys = ['token:192.0.2.1', 'token:192.0.2.2', 'revoke:192.0.2.1'];
    const windows = await Promise.all(Array.from({ length: 30 }, (_, i) => hit(keys[i % 3]!).then((window) => ({ key: keys[i % 3]!, count: window.count }))));
    const countsOf = (key: string) => windows.filter((window) => window.key === key).map((window) => window.count).sort((a, b) => a - b);
    expect(countsOf('token:192.0.2.1')).to.deep.equal(Array.from({ length: 10 }, (_, i) => 61 + i));
    expect(countsOf('token:192.0.2.2')).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(countsOf('revoke:192.0.2.1')).to.deep.equal(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('starts a new window once the old one has ended', async () => {
    const hit = batchedRateLimitCounter(database.db, 60);
    await database.db('rate_limits').where({ key: 'token:192.0.2.2' }).update({ expires_at: new Date(Date.now() - 1000) });
    const windows = await Promise.all(Array.from({ length: 5 }, () => hit('token:192.0.2.2')));
    expect(windows.map((window) => window.count).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5]);
  });

  it('fails every hit of a statement that fails, and counts again afterwards', async () => {
    const hit = batchedRateLimitCounter(database.db, 60);
    await database.db.raw('alter table rate_limits rename to rate_limits_away');
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => hit('token:192.0.2.3')));
      expect(outcomes.every((outcome) => outcome.status === 'rejected')).to.equal(true);
    } finally {
      await database.db.raw('alter table rate_limits_away rename to rate_limits');
    }
    expect((await hit('token:192.0.2.3')).count).to.equal(1);
  });
});
