import { randomUUID } from "node:crypto";
import { queueConformance } from "./__tests__/conformance";
import { MemoryQueue } from "./mem";
import { openQueue } from "./open";

queueConformance("mem://", () => openQueue(`mem://${randomUUID()}`), {
  countsCompletions: true,
  releaseAll: true,
  detectsStaleRenew: true,
});

test("mem:// queues with the same name share their tasks within a process", async () => {
  const a = await openQueue("mem://shared-by-name");
  const b = await openQueue("mem://shared-by-name");
  await a.insert([{ name: "s", id: "s1" }]);
  const [l] = await b.lease({ seconds: 30 });
  expect(l.task.id).toBe("s1");
  expect(b).toBeInstanceOf(MemoryQueue);
});

test("dead letters keep the error message and stack", async () => {
  const q = new MemoryQueue(randomUUID());
  await q.insert([{ name: "p", id: "p1" }]);
  const [l] = await q.lease({ seconds: 30 });
  await q.deadLetter(l, new Error("broken input"));
  const [d] = q.deadLetters();
  expect(d.task.id).toBe("p1");
  expect(d.attempts).toBe(1);
  expect(d.error?.message).toBe("broken input");
  expect(d.error?.stack).toContain("broken input");
});
