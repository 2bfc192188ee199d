"use strict";
// The piscina worker of ngpipe's shared pool. It is plain JavaScript so that it
// loads the same way from the sources (tests) and from dist/ (published).
// A task names a kernel module (an absolute file path) and an exported
// function; the module is loaded once per thread. TypeScript modules (.ts,
// when running from the sources) are loaded through tsx's require hook.
const { move, transferableSymbol, valueSymbol } = require("piscina");

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

module.exports = function runKernel({ module: file, name, args }) {
  const fn = load(file)[name];
  if (typeof fn !== "function") {
    throw new TypeError(`kernel "${name}" is not exported by ${file}`);
  }
  let result;
  try {
    result = fn(...args);
  } catch (error) {
    // Thrown errors lose their class crossing threads; send what is needed to revive them.
    if (!(error instanceof Error)) throw error;
    return { [KERNEL_ERROR]: { name: error.name, message: error.message, stack: error.stack } };
  }
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
};
