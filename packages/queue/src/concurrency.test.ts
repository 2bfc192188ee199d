import { batch } from "./concurrency";

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
