/**
 * Conditional tests that say why they are skipped: jest's `test.skip` alone
 * only shows a count, so a missing data file or tool would pass unnoticed.
 *
 * ```ts
 * const withData = testIf(existsSync(FILE), `${FILE} not found`);
 * withData("reads the file", () => { ... });
 * ```
 */

/** `test` when `ok`; otherwise `test.skip`, after printing `why` on stderr. */
export function testIf(ok: boolean, why: string): jest.It {
  if (!ok) process.stderr.write(`skipping tests: ${why}\n`);
  return ok ? test : test.skip;
}

/** `describe` when `ok`; otherwise `describe.skip`, after printing `why` on stderr. */
export function describeIf(ok: boolean, why: string): jest.Describe {
  if (!ok) process.stderr.write(`skipping tests: ${why}\n`);
  return ok ? describe : describe.skip;
}
