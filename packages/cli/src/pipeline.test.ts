import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openQueue, poll } from "@ngpipe/queue";
import { defineTask, executeTask, type TaskPayload } from "@ngpipe/tasks";
import { z } from "zod";
import { PipelineStepError, runPipeline } from "./pipeline";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-pipeline-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ran: string[] = [];
const step = defineTask({
  name: "pipeline-test-step",
  params: z.object({ tag: z.string() }),
  async run(p) {
    if (p.tag.startsWith("bad")) throw new Error(`task ${p.tag} is broken`);
    ran.push(p.tag);
  },
});
const tasks = (tags: string[]) => async (): Promise<TaskPayload[]> =>
  tags.map((tag) => step.payload({ tag }));

test("steps run in order with workers here, and each ends when its tasks are done", async () => {
  ran.length = 0;
  const results = await runPipeline(
    [
      { name: "first", tasks: tasks(["a1", "a2", "a3"]) },
      { name: "second", tasks: tasks(["b1", "b2"]) },
    ],
    { queue: `fq://${join(tmp, "here")}`, workers: 2, quiet: true },
  );
  expect(results.map((r) => [r.name, r.tasks])).toEqual([
    ["first", 3],
    ["second", 2],
  ]);
  expect(ran.slice(0, 3).sort()).toEqual(["a1", "a2", "a3"]);
  expect(ran.slice(3).sort()).toEqual(["b1", "b2"]);
});

test("with workers 0 a step waits for workers elsewhere; a dead task stops the pipeline", async () => {
  ran.length = 0;
  const url = `fq://${join(tmp, "elsewhere")}`;
  const stop = new AbortController();
  const queue = await openQueue(url, { create: true });
  const worker = poll(queue, (t) => executeTask(t), {
    signal: stop.signal,
    maxAttempts: 1,
    backoff: { initialMs: 10, maxMs: 50 },
  });
  try {
    const done = await runPipeline([{ name: "ok", tasks: tasks(["c1", "c2"]) }], {
      queue: url,
      workers: 0,
      quiet: true,
    });
    expect(done[0].tasks).toBe(2);
    expect(ran.sort()).toEqual(["c1", "c2"]);
    const err = await runPipeline(
      [
        { name: "broken", tasks: tasks(["bad1", "c3"]) },
        { name: "never", tasks: tasks(["c4"]) },
      ],
      { queue: url, workers: 0, quiet: true },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(PipelineStepError);
    expect((err as Error).message).toMatch(/step "broken": 1 task\(s\) failed for good/);
    expect(ran).not.toContain("c4");
  } finally {
    stop.abort();
    await worker;
  }
});
