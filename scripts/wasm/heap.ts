// Compiled into every WebAssembly module by scripts/build-wasm.mjs (AssemblyScript).

/** First byte of linear memory past the module's static data. */
export function heapBase(): usize {
  return __heap_base;
}
