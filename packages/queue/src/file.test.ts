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

test("dead reads the error record beside each dead task, including a corrupt one", async () => {
  const q = new FileQueue(join(root, "dead-list"));
  await q.create();
  writeFileSync(join(q.dir, "queue", "000000000000000--broken--0.json"), "{not json");
  expect(await q.lease({ seconds: 30 })).toEqual([]);
  const [d] = await q.dead();
  expect(d.task).toEqual({ name: "", params: {}, id: "broken" });
  expect(d.error?.message).toContain("not JSON");
  expect(d.attempts).toBe(1);
});

test("redrive renames dead/<id>.json back into queue/ and removes the error record", async () => {
  const q = new FileQueue(join(root, "redrive-files"));
  await q.insert([{ name: "p", id: "p1" }]);
  const [l] = await q.lease({ seconds: 30 });
  await q.deadLetter(l, new Error("no credentials"));
  expect(await q.redrive()).toBe(1);
  expect(readdirSync(join(q.dir, "dead"))).toEqual([]);
  expect(readdirSync(join(q.dir, "tmp"))).toEqual([]);
  const [back] = readdirSync(join(q.dir, "queue"));
  expect(back).toMatch(/^\d{15}--p1--0--[0-9a-f]+\.json$/);
});

test("redrives from several handles on one directory move each dead letter once", async () => {
  const dir = join(root, "redrive-many");
  const handles = [new FileQueue(dir), new FileQueue(dir), new FileQueue(dir)];
  const ids = Array.from({ length: 60 }, (_, i) => `t${i}`);
  await handles[0].insert(ids.map((id) => ({ name: "t", id })));
  for (const l of await handles[0].lease({ seconds: 30, count: 60 })) {
    await handles[0].deadLetter(l, new Error(`failed ${l.task.id}`));
  }
  const moved = await Promise.all(handles.map((h) => h.redrive()));
  expect(moved.reduce((a, b) => a + b, 0)).toBe(60);
  expect(readdirSync(join(dir, "dead"))).toEqual([]);
  expect(readdirSync(join(dir, "tmp"))).toEqual([]);
  const leased = await handles[1].lease({ seconds: 30, count: 100 });
  expect(leased.map((l) => l.task.id).sort()).toEqual([...ids].sort());
  expect(new Set(leased.map((l) => l.attempt))).toEqual(new Set([1]));
});
