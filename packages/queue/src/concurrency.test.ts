import { batch, forEachConcurrent } from "./concurrency";

test("forEachConcurrent pulls items lazily and never runs more than `concurrency` at once", async () => {
  let pulled = 0;
  let running = 0;
  let most = 0;
  let mostAhead = 0;
  let done = 0;
  function* items() {
    for (let i = 0; i < 200; i++) {
      pulled++;
      mostAhead = Math.max(mostAhead, pulled - done);
      yield i;
    }
  }
  await forEachConcurrent(items(), 5, async () => {
    most = Math.max(most, ++running);
    await new Promise((r) => setImmediate(r));
    running--;
    done++;
  });
  expect(done).toBe(200);
  expect(most).toBe(5);
  // Never more than the in-flight window (plus the item being pulled) is held.
  expect(mostAhead).toBeLessThanOrEqual(6);
});

test("forEachConcurrent stops pulling after a failure and rethrows it", async () => {
  let pulled = 0;
  function* items() {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      yield i;
    }
  }
  const run = forEachConcurrent(items(), 2, async (i) => {
    if (i === 10) throw new Error("item 10");
  });
  await expect(run).rejects.toThrow("item 10");
  expect(pulled).toBeLessThan(20);
});

test("batch closes a group at the count limit or when the predicate says it is full", async () => {
  const counted: number[][] = [];
  for await (const g of batch([1, 2, 3, 4, 5], 2)) counted.push(g);
  expect(counted).toEqual([[1, 2], [3, 4], [5]]);
  const sized: number[][] = [];
  const sum = (g: number[]) => g.reduce((a, b) => a + b, 0);
  for await (const g of batch([4, 4, 4, 1, 1], 10, (g, next) => sum(g) + next > 8)) sized.push(g);
  expect(sized).toEqual([
    [4, 4],
    [4, 1, 1],
  ]);
});
