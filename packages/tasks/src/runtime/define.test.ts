import { z } from "zod";
import { defineTask, executeTask, getTask, parsePayload } from "./define";
import { InvalidPayloadError, InvalidTaskParamsError, UnknownTaskError } from "./errors";

const seen: number[] = [];
const addTask = defineTask({
  name: "test-add",
  params: z.object({ a: z.number(), b: z.number().default(1) }),
  async run({ a, b }) {
    seen.push(a + b);
    return a + b;
  },
});

test("a defined task is registered and executes from its JSON payload", async () => {
  const payload = JSON.parse(JSON.stringify(addTask.payload({ a: 2, b: 3 })));
  expect(payload).toEqual({ name: "test-add", params: { a: 2, b: 3 } });
  expect(await executeTask(payload)).toBe(5);
  expect(getTask("test-add")).toBe(addTask);
});

test("schema defaults are applied before run", async () => {
  expect(await executeTask({ name: "test-add", params: { a: 1 } })).toBe(2);
});

test("invalid params are rejected with the path of each problem", async () => {
  await expect(executeTask({ name: "test-add", params: { a: "x" } })).rejects.toThrow(
    InvalidTaskParamsError,
  );
  await expect(executeTask({ name: "test-add", params: { a: "x" } })).rejects.toThrow(/a: /);
});

test("an unknown task name lists the registered tasks", async () => {
  const err = (await executeTask({ name: "nope", params: {} }).catch((e) => e)) as Error;
  expect(err).toBeInstanceOf(UnknownTaskError);
  expect(err.message).toContain("test-add");
});

test("payloads that are not {name, params} JSON are refused", () => {
  expect(() => parsePayload("{not json")).toThrow(InvalidPayloadError);
  expect(() => parsePayload([1])).toThrow(InvalidPayloadError);
  expect(() => parsePayload({ params: {} })).toThrow(/"name"/);
});

test("redefining a name with a different task is refused", () => {
  expect(() => defineTask({ name: "test-add", params: z.object({}), run: async () => 0 })).toThrow(
    /already registered/,
  );
});
