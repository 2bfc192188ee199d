import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { InvalidQueueUrlError } from "./errors";
import { FileQueue } from "./file";
import { openQueue } from "./open";

const root = mkdtempSync(join(tmpdir(), "ngpipe-open-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("a bare absolute path opens the fq:// queue of that directory", async () => {
  const dir = join(root, "jobs");
  const bare = await openQueue(dir);
  expect(bare).toBeInstanceOf(FileQueue);
  expect(bare.url).toBe(`fq://${dir}`);
  await bare.insert([{ name: "a", id: "a1" }]);
  const [l] = await (await openQueue(`fq://${dir}`)).lease({ seconds: 30 });
  expect(l.task.id).toBe("a1");
});

test("a bare relative path is resolved against the working directory", async () => {
  expect((await openQueue("./q")).url).toBe(`fq://${resolve("q")}`);
  expect((await openQueue("work/q")).url).toBe(`fq://${resolve("work/q")}`);
});

test("a % in a bare path is kept, not percent-decoded", async () => {
  const q = (await openQueue(join(root, "100%25done"))) as FileQueue;
  expect(q.dir).toBe(join(root, "100%25done"));
});

test("an empty string or an unknown scheme is still refused", async () => {
  await expect(openQueue("")).rejects.toBeInstanceOf(InvalidQueueUrlError);
  await expect(openQueue("nope://x")).rejects.toBeInstanceOf(InvalidQueueUrlError);
});
