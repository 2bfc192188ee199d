// compressed_segmentation decoding over a memory of the module's own (this
// thread's arena); the code is in _cseg_decode.ts, which says why there are
// two modules.

export { decodeSlab, setTables, tablesBytes } from "./_cseg_decode";
