import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { queueConformance } from "./__tests__/conformance";
import { InvalidQueueUrlError } from "./errors";
import { FileQueue } from "./file";
import { openQueue } from "./open";

const root = mkdtempSync(join(tmpdir(), "ngpipe-fq-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

queueConformance("fq://", () => openQueue(`fq://${join(root, `q${n++}`)}`), {
  countsCompletions: true,
  releaseAll: true,
  detectsStaleRenew: true,
});

test("the lease lives in the file name and renewal renames the file", async () => {
  const q = new FileQueue(join(root, "names"));
  await q.insert([{ name: "a", id: "a1" }]);
  const [l] = await q.lease({ seconds: 30 });
  const leasedName = l.handle;
  expect(readdirSync(join(q.dir, "queue"))).toEqual([leasedName]);
  expect(leasedName).toMatch(/^\d{15}--a1--1--[0-9a-f]+\.json$/);
  expect(Number(leasedName.slice(0, 15))).toBe(l.expiresAt);
  await q.renew(l, 60);
  expect(l.handle).not.toBe(leasedName);
  expect(readdirSync(join(q.dir, "queue"))).toEqual([l.handle]);
  await q.delete(l);
  expect(readdirSync(join(q.dir, "completed"))).toEqual(["a1.json"]);
});

test("two handles on one directory never hold the same task", async () => {
  const dir = join(root, "two");
  const a = new FileQueue(dir);
  const b = new FileQueue(dir);
  await a.insert(Array.from({ length: 200 }, (_, i) => ({ name: "t", id: `t${i}` })));
  const got = await Promise.all(
    Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).lease({ seconds: 30, count: 40 })),
  );
  const ids = got.flat().map((l) => l.task.id);
  expect(ids).toHaveLength(200);
  expect(new Set(ids).size).toBe(200);
});

test("a dead letter keeps the error message and stack beside the task", async () => {
  const q = new FileQueue(join(root, "dead"));
  await q.insert([{ name: "p", id: "p1", params: { k: 1 } }]);
  const [l] = await q.lease({ seconds: 30 });
  await q.deadLetter(l, new Error("broken input"));
  const task = JSON.parse(readFileSync(join(q.dir, "dead", "p1.json"), "utf8"));
  const info = JSON.parse(readFileSync(join(q.dir, "dead", "p1.error.json"), "utf8"));
  expect(task).toEqual({ name: "p", params: { k: 1 }, id: "p1" });
  expect(info.error.message).toBe("broken input");
  expect(info.error.stack).toContain("broken input");
  expect(info.attempt).toBe(1);
});

test("fq:// URLs need a path", async () => {
  await expect(openQueue("fq://")).rejects.toBeInstanceOf(InvalidQueueUrlError);
  await expect(openQueue("nope://x")).rejects.toBeInstanceOf(InvalidQueueUrlError);
});

test("a task file that is not JSON goes to dead/ instead of reaching a handler", async () => {
  const q = new FileQueue(join(root, "corrupt"));
  await q.insert([{ name: "ok", id: "good" }]);
  writeFileSync(join(q.dir, "queue", "000000000000000--broken--0.json"), "{not json");
  const got = await q.lease({ seconds: 30, count: 5 });
  expect(got.map((l) => l.task.id)).toEqual(["good"]);
  expect(readdirSync(join(q.dir, "dead")).sort()).toEqual(["broken.error.json", "broken.json"]);
  expect(await q.status()).toMatchObject({ enqueued: 0, leased: 1, dead: 1 });
});
