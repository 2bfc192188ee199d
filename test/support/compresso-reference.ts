/**
 * The reference compresso decoder as a test oracle: the WebAssembly build of
 * seung-lab's C++ decoder that ships inside the npm package
 * `@janelia-flyem/neuroglancer` (the viewer the e2e test runs), fetched once
 * with `npm pack` into the git-ignored `.tmp/compresso`. Tests decode
 * ngpipe's compresso streams with it to check them against the
 * implementation Neuroglancer runs.
 */
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join, resolve } from "node:path";

const REPO = resolve(__dirname, "../..");
const DIR = join(REPO, ".tmp", "compresso");
const MEMBER = "package/src/neuroglancer/sliceview/compresso/compresso.wasm";
const WASM = join(DIR, MEMBER);

/** Decodes a compresso stream into `nbytes` bytes of labels, or throws with the decoder's code. */
export type ReferenceDecoder = (stream: Uint8Array, nbytes: number) => Uint8Array;

/** The path of the reference wasm, fetching it if needed, or why it could not be had. */
function ensureWasm(): { path: string } | { missing: string } {
  if (existsSync(WASM)) return { path: WASM };
  mkdirSync(join(REPO, ".tmp"), { recursive: true });
  const work = mkdtempSync(join(REPO, ".tmp", "compresso-"));
  try {
    execFileSync("npm", ["pack", "@janelia-flyem/neuroglancer", "--pack-destination", work], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 120_000,
    });
    const tgz = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!tgz) return { missing: `npm pack @janelia-flyem/neuroglancer left no tarball in ${work}` };
    execFileSync("tar", ["xzf", join(work, tgz), "-C", work, MEMBER], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    rmSync(join(work, tgz));
    if (!existsSync(WASM)) {
      rmSync(DIR, { recursive: true, force: true });
      renameSync(work, DIR);
    }
    return { path: WASM };
  } catch (e) {
    if (existsSync(WASM)) return { path: WASM };
    const err = e as Error & { stderr?: Buffer };
    const detail = err.stderr?.toString().trim().split("\n").pop() ?? err.message;
    return { missing: `could not fetch the reference compresso decoder with npm pack: ${detail}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface CompressoExports {
  memory: { buffer: ArrayBuffer };
  _initialize(): void;
  malloc(n: number): number;
  free(p: number): void;
  compresso_decompress(stream: number, length: number, out: number): number;
}

interface WasmGlobal {
  instantiate(
    code: Uint8Array,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ instance: { exports: unknown } }>;
}

/** The reference decoder, or why it is missing. */
export async function referenceCompresso(): Promise<
  { decode: ReferenceDecoder } | { missing: string }
> {
  const found = ensureWasm();
  if ("missing" in found) return found;
  const env = {
    emscripten_notify_memory_growth() {},
    proc_exit(code: number) {
      throw new Error(`compresso wasm exited with ${code}`);
    },
  };
  // The project's TypeScript lib has no WebAssembly declarations; Node has the global.
  const wasm = (globalThis as unknown as { WebAssembly: WasmGlobal }).WebAssembly;
  const { instance } = await wasm.instantiate(readFileSync(found.path), {
    env,
    wasi_snapshot_preview1: env,
  });
  const ex = instance.exports as CompressoExports;
  ex._initialize();
  const decode: ReferenceDecoder = (stream, nbytes) => {
    const out = ex.malloc(nbytes);
    const src = ex.malloc(stream.length);
    try {
      new Uint8Array(ex.memory.buffer).set(stream, src);
      const code = ex.compresso_decompress(src, stream.length, out);
      if (code !== 0) throw new Error(`reference compresso decoder failed with code ${code}`);
      return new Uint8Array(ex.memory.buffer, out, nbytes).slice();
    } finally {
      ex.free(src);
      ex.free(out);
    }
  };
  return { decode };
}
