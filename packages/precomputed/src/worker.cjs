"use strict";
// The piscina worker of ngpipe's shared pool. It is plain JavaScript so that it
// loads the same way from the sources (tests) and from dist/ (published).
// A task names a kernel module (an absolute file path) and an exported
// function; the module is loaded once per thread. TypeScript modules (.ts,
// when running from the sources) are loaded through tsx's require hook.
const { move, transferableSymbol, valueSymbol } = require("piscina");
const v8 = require("node:v8");
const vm = require("node:vm");

const modules = new Map();
const KERNEL_ERROR = "__ngpipeKernelError";
let tsHookInstalled = false;

function load(file) {
  let mod = modules.get(file);
  if (mod) return mod;
  if (file.endsWith(".ts") && !tsHookInstalled) {
    require("tsx/cjs/api").register();
    tsHookInstalled = true;
  }
  mod = require(file);
  modules.set(file, mod);
  return mod;
}

// Every ArrayBuffer reachable from the result (typed arrays, arrays and plain
// objects, two levels deep) is transferred back instead of copied.
function collectBuffers(value, out, depth) {
  if (value === null || typeof value !== "object" || depth > 3) return;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && value.buffer.byteLength > 0) out.add(value.buffer);
    return;
  }
  if (value instanceof ArrayBuffer) {
    if (value.byteLength > 0) out.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) collectBuffers(item, out, depth + 1);
}

// Buffers moved into this thread are not counted as new memory by its V8, so
// nothing prompts a collection when a kernel is done with a large input:
// back-to-back tasks would each keep the previous tasks' blocks alive. When
// the previous call's inputs were large, collect before the next kernel runs
// (by then piscina has dropped them). Not after the call: piscina's idle
// workers block on Atomics.wait, so timers set by a task would not run.
const COLLECT_AFTER_BYTES = 32 * 1024 * 1024;
let collectGarbage;
let collectBeforeNext = false;
function collector() {
  if (collectGarbage === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      collectGarbage = vm.runInNewContext("gc");
    } catch {
      collectGarbage = null;
    }
  }
  return collectGarbage;
}

function inputBytes(args) {
  const buffers = new Set();
  collectBuffers(args, buffers, 0);
  let n = 0;
  for (const b of buffers) n += b.byteLength;
  return n;
}

module.exports = function runKernel({ module: file, name, args, cancel }) {
  // A short call whose signal fired while it waited: the caller has given up on it.
  if (cancel !== undefined && Atomics.load(cancel, 0) !== 0) {
    return { [KERNEL_ERROR]: { name: "AbortError", message: `kernel ${name} was aborted` } };
  }
  if (collectBeforeNext) {
    collectBeforeNext = false;
    collector()?.();
  }
  if (inputBytes(args) >= COLLECT_AFTER_BYTES) collectBeforeNext = true;
  let result;
  try {
    const fn = load(file)[name];
    if (typeof fn !== "function") {
      throw new TypeError(`kernel "${name}" is not exported by ${file}`);
    }
    result = fn(...args);
  } catch (error) {
    // Thrown errors lose their class crossing threads; send what is needed to revive them.
    return errorValue(error);
  }
  // Kernels are synchronous; one that returns a promise is awaited, and a
  // rejection is reported like a throw (not as a crashed worker).
  if (result !== null && typeof result === "object" && typeof result.then === "function")
    return result.then(answer, errorValue);
  return answer(result);
};

function errorValue(error) {
  if (!(error instanceof Error)) throw error;
  return { [KERNEL_ERROR]: { name: error.name, message: error.message, stack: error.stack } };
}

// The result, with every ArrayBuffer in it moved back instead of copied.
function answer(result) {
  const buffers = new Set();
  collectBuffers(result, buffers, 0);
  if (buffers.size === 0) return result;
  return move({
    get [transferableSymbol]() {
      return [...buffers];
    },
    get [valueSymbol]() {
      return result;
    },
  });
}
