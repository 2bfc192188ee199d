import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { fromTyped, Volume } from "@ngpipe/precomputed";
import {
  findLayers,
  neuroglancerState,
  neuroglancerUrl,
  parseRange,
  resolveInside,
  startViewServer,
  type ViewServer,
} from "./server";

/** One HTTP/1.1 exchange on a raw socket: nothing in between normalises the path or decodes the body. */
async function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const reply = await new Promise<Buffer>((ok, fail) => {
    const parts: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.write(`${lines.join("\r\n")}\r\n\r\n`));
    socket.on("data", (d) => parts.push(d));
    socket.on("end", () => ok(Buffer.concat(parts)));
    socket.on("error", fail);
  });
  const split = reply.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = reply.subarray(0, split).toString("latin1").split("\r\n");
  const parsed: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    parsed[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine.split(" ")[1]),
    headers: parsed,
    body: reply.subarray(split + 4),
  };
}

/** The bytes of `[x0,x1) x [y0,y1) x [z0,z1)` of an x-fastest uint8 volume of width sx, height sy. */
function region(
  data: Uint8Array,
  sx: number,
  sy: number,
  [x0, x1, y0, y1, z0, z1]: number[],
): Buffer {
  const out: number[] = [];
  for (let z = z0; z < z1; z++)
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) out.push(data[x + sx * (y + sy * z)]);
  return Buffer.from(out);
}

const SX = 64;
const SY = 48;
const SZ = 4;
const SECRET = "top secret bytes outside the root";

let tmp: string;
let root: string;
let server: ViewServer;
let image: Uint8Array;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "ngpipe-view-"));
  root = join(tmp, "root");
  await mkdir(root);
  image = new Uint8Array(SX * SY * SZ);
  for (let i = 0; i < image.length; i++) image[i] = (i * 7 + (i >> 8)) & 255;
  const array = fromTyped(image, [SX, SY, SZ]);
  const opts = { chunkSize: [32, 32, 4] as [number, number, number], workers: false };
  // gzip is the default transport compression of raw chunks: chunk files end in .gz.
  await Volume.fromArray(`file://${root}/img`, array, opts);
  await Volume.fromArray(`file://${root}/brimg`, array, { ...opts, compress: "br" });
  await Volume.fromArray(`file://${root}/plain`, array, { ...opts, compress: false });
  const labels = new Uint32Array(SX * SY * SZ).map((_, i) => 1 + (i % 5));
  await Volume.fromArray(`file://${root}/group/seg`, fromTyped(labels, [SX, SY, SZ]), {
    ...opts,
    encoding: "compressed_segmentation",
  });
  await writeFile(join(tmp, "secret.txt"), SECRET);
  await writeFile(join(tmp, "secret.txt.gz"), gzipSync(SECRET));
  await mkdir(join(tmp, "outside-dir"));
  await writeFile(join(tmp, "outside-dir", "info"), SECRET);
  await symlink(join(tmp, "secret.txt"), join(root, "link.txt"));
  await symlink(join(tmp, "secret.txt.gz"), join(root, "img", "evil.gz"));
  await symlink(join(tmp, "outside-dir"), join(root, "linkdir"));
  await writeFile(join(root, "inside.txt"), "inside");
  await symlink(join(root, "inside.txt"), join(root, "inside-link.txt"));
  server = await startViewServer(root);
});

afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe("CORS", () => {
  test("GET and HEAD answers carry Access-Control-Allow-Origin *", async () => {
    for (const method of ["GET", "HEAD"]) {
      const r = await raw(server.port, method, "/img/info", { Origin: "http://viewer" });
      expect(r.status).toBe(200);
      expect(r.headers["access-control-allow-origin"]).toBe("*");
      expect(r.headers["access-control-expose-headers"]).toMatch(/Content-Range/);
    }
  });

  test("a 404 carries CORS too, so a browser sees the status instead of a network error", async () => {
    const r = await raw(server.port, "GET", "/img/1_1_1/0-1_0-1_0-1", { Origin: "http://viewer" });
    expect(r.status).toBe(404);
    expect(r.headers["access-control-allow-origin"]).toBe("*");
  });

  test("OPTIONS preflight allows GET, HEAD and the Range header", async () => {
    const r = await raw(server.port, "OPTIONS", "/img/info", {
      Origin: "http://viewer",
      "Access-Control-Request-Method": "GET",
      "Access-Control-Request-Headers": "range",
    });
    expect(r.status).toBe(204);
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect(r.headers["access-control-allow-methods"]).toMatch(/GET/);
    expect(r.headers["access-control-allow-methods"]).toMatch(/HEAD/);
    expect(r.headers["access-control-allow-headers"].toLowerCase()).toMatch(/range/);
    expect(r.body.length).toBe(0);
  });

  test("a Private Network Access preflight is allowed", async () => {
    const r = await raw(server.port, "OPTIONS", "/img/info", {
      Origin: "https://neuroglancer-demo.appspot.com",
      "Access-Control-Request-Method": "GET",
      "Access-Control-Request-Private-Network": "true",
    });
    expect(r.status).toBe(204);
    expect(r.headers["access-control-allow-private-network"]).toBe("true");
    const plain = await raw(server.port, "OPTIONS", "/img/info", { Origin: "http://viewer" });
    expect(plain.headers["access-control-allow-private-network"]).toBeUndefined();
  });

  test("other methods are refused with 405", async () => {
    const r = await raw(server.port, "PUT", "/img/info");
    expect(r.status).toBe(405);
    expect(await readFile(join(root, "img", "info"), "utf8")).toMatch(/"scales"/);
  });
});

describe("plain files, HEAD and ranges", () => {
  const chunk = "/plain/1_1_1/32-64_0-32_0-4";
  const expected = () => region(image, SX, SY, [32, 64, 0, 32, 0, 4]);

  test("GET of an uncompressed chunk returns its exact bytes", async () => {
    const r = await raw(server.port, "GET", chunk);
    expect(r.status).toBe(200);
    expect(r.headers["accept-ranges"]).toBe("bytes");
    expect(r.body.equals(expected())).toBe(true);
  });

  test("info is served as JSON and parses as the layer's info", async () => {
    const res = await fetch(`${server.url}/img/info`);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    const info = (await res.json()) as { scales: Array<{ size: number[] }> };
    expect(info.scales[0].size).toEqual([SX, SY, SZ]);
  });

  test("HEAD gives the length and sends no body", async () => {
    const r = await raw(server.port, "HEAD", chunk);
    expect(r.status).toBe(200);
    expect(Number(r.headers["content-length"])).toBe(32 * 32 * 4);
    expect(r.body.length).toBe(0);
  });

  test("Range a-b answers 206 with exactly those bytes and Content-Range", async () => {
    const r = await raw(server.port, "GET", chunk, { Range: "bytes=100-199" });
    expect(r.status).toBe(206);
    expect(r.headers["content-range"]).toBe(`bytes 100-199/${32 * 32 * 4}`);
    expect(Number(r.headers["content-length"])).toBe(100);
    expect(r.body.equals(expected().subarray(100, 200))).toBe(true);
  });

  test("suffix range -n gives the last n bytes", async () => {
    const size = 32 * 32 * 4;
    const r = await raw(server.port, "GET", chunk, { Range: "bytes=-10" });
    expect(r.status).toBe(206);
    expect(r.headers["content-range"]).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect(r.body.equals(expected().subarray(size - 10))).toBe(true);
  });

  test("open range a- runs to the end; an end past the size is clipped", async () => {
    const size = 32 * 32 * 4;
    const open = await raw(server.port, "GET", chunk, { Range: `bytes=${size - 5}-` });
    expect(open.status).toBe(206);
    expect(open.body.equals(expected().subarray(size - 5))).toBe(true);
    const past = await raw(server.port, "GET", chunk, { Range: `bytes=${size - 3}-${size + 100}` });
    expect(past.status).toBe(206);
    expect(past.headers["content-range"]).toBe(`bytes ${size - 3}-${size - 1}/${size}`);
    expect(past.body.equals(expected().subarray(size - 3))).toBe(true);
  });

  test("a range starting past the end is unsatisfiable: 416 with bytes */size", async () => {
    const size = 32 * 32 * 4;
    const r = await raw(server.port, "GET", chunk, { Range: `bytes=${size}-` });
    expect(r.status).toBe(416);
    expect(r.headers["content-range"]).toBe(`bytes */${size}`);
    expect(r.body.length).toBe(0);
  });

  test("HEAD with a range gives the range's length and no body", async () => {
    const r = await raw(server.port, "HEAD", chunk, { Range: "bytes=0-9" });
    expect(r.status).toBe(206);
    expect(Number(r.headers["content-length"])).toBe(10);
    expect(r.body.length).toBe(0);
  });

  test("parseRange follows RFC 9110 for single ranges", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange("bytes=3-", 10)).toEqual({ start: 3, end: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=-30", 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=5-100", 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange("bytes=10-", 10)).toBeNull();
    expect(parseRange("bytes=-0", 10)).toBeNull();
    expect(parseRange("bytes=-5", 0)).toBeNull();
    // Not served as ranges (the whole object is sent): malformed, reversed, multiple, other units.
    expect(parseRange("bytes=5-3", 10)).toBeUndefined();
    expect(parseRange("bytes=0-1,3-4", 10)).toBeUndefined();
    expect(parseRange("items=0-1", 10)).toBeUndefined();
    expect(parseRange("bytes=-", 10)).toBeUndefined();
  });

  test("a reversed range is ignored: 200 with the whole object", async () => {
    const r = await raw(server.port, "GET", chunk, { Range: "bytes=9-3" });
    expect(r.status).toBe(200);
    expect(r.body.equals(expected())).toBe(true);
  });
});

describe("objects stored compressed (key.gz, key.br)", () => {
  const name = "1_1_1/0-32_32-48_0-4";
  const expected = () => region(image, SX, SY, [0, 32, 32, 48, 0, 4]);

  test("chunk stored as chunk.gz is served at chunk with Content-Encoding gzip", async () => {
    const stored = await readFile(join(root, "img", `${name}.gz`));
    const r = await raw(server.port, "GET", `/img/${name}`, { "Accept-Encoding": "gzip, br" });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(r.headers["content-type"]).toBe("application/octet-stream");
    expect(Number(r.headers["content-length"])).toBe(stored.length);
    expect(r.body.equals(stored)).toBe(true);
  });

  test("fetch decodes the gzip body to the chunk's voxels", async () => {
    const res = await fetch(`${server.url}/img/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(Buffer.from(await res.arrayBuffer()).equals(expected())).toBe(true);
  });

  test("chunk stored as chunk.br is served with Content-Encoding br and decodes right", async () => {
    const stored = await readFile(join(root, "brimg", `${name}.br`));
    const r = await raw(server.port, "GET", `/brimg/${name}`, { "Accept-Encoding": "gzip, br" });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBe("br");
    expect(r.body.equals(stored)).toBe(true);
    const res = await fetch(`${server.url}/brimg/${name}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(expected())).toBe(true);
  });

  test("HEAD of an encoded object gives the stored length and no body", async () => {
    const stored = await readFile(join(root, "img", `${name}.gz`));
    const r = await raw(server.port, "HEAD", `/img/${name}`, { "Accept-Encoding": "gzip" });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBe("gzip");
    expect(Number(r.headers["content-length"])).toBe(stored.length);
    expect(r.body.length).toBe(0);
  });

  test("a client that does not accept the encoding gets the decoded bytes", async () => {
    for (const layer of ["img", "brimg"]) {
      const r = await raw(server.port, "GET", `/${layer}/${name}`, {
        "Accept-Encoding": "identity",
      });
      expect(r.status).toBe(200);
      expect(r.headers["content-encoding"]).toBeUndefined();
      expect(r.body.equals(expected())).toBe(true);
    }
  });

  test("an encoded object is sent whole even when a range is asked for", async () => {
    const stored = await readFile(join(root, "img", `${name}.gz`));
    const r = await raw(server.port, "GET", `/img/${name}`, {
      "Accept-Encoding": "gzip",
      Range: "bytes=0-3",
    });
    expect(r.status).toBe(200);
    expect(r.body.equals(stored)).toBe(true);
  });

  test("without the encoding, ranges apply to the decoded bytes", async () => {
    const r = await raw(server.port, "GET", `/img/${name}`, { Range: "bytes=10-19" });
    expect(r.status).toBe(206);
    expect(r.headers["content-range"]).toBe(`bytes 10-19/${32 * 16 * 4}`);
    expect(r.body.equals(expected().subarray(10, 20))).toBe(true);
  });

  test("the stored name itself is served as plain bytes", async () => {
    const stored = await readFile(join(root, "img", `${name}.gz`));
    const r = await raw(server.port, "GET", `/img/${name}.gz`, { "Accept-Encoding": "gzip" });
    expect(r.status).toBe(200);
    expect(r.headers["content-encoding"]).toBeUndefined();
    expect(r.body.equals(stored)).toBe(true);
  });

  test("compressed_segmentation chunks are found under their logical names", async () => {
    const res = await fetch(`${server.url}/group/seg/1_1_1/0-32_0-32_0-4`);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });
});

describe("missing objects", () => {
  test("a missing chunk is 404 (GET and HEAD)", async () => {
    expect((await raw(server.port, "GET", "/img/1_1_1/64-96_0-32_0-4")).status).toBe(404);
    const head = await raw(server.port, "HEAD", "/img/1_1_1/64-96_0-32_0-4");
    expect(head.status).toBe(404);
    expect(head.body.length).toBe(0);
    expect((await fetch(`${server.url}/nope/info`)).status).toBe(404);
  });

  test("a query string is ignored", async () => {
    const r = await raw(server.port, "GET", "/img/info?cache=1");
    expect(r.status).toBe(200);
  });
});

describe("no path outside the root", () => {
  const attempts = [
    "/../secret.txt",
    "/img/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/img/%2e%2e/%2e%2e/secret.txt",
    "/img%2F..%2F..%2Fsecret.txt",
    "/..%2Fsecret.txt",
    "/..%5Csecret.txt",
    "/img/..%5C..%5Csecret.txt",
    "/%5C..%5Csecret.txt",
    "/secret.txt%00",
    "/img/info%00/../../../secret.txt",
    "/../secret",
    "/link.txt",
    "/img/evil",
    "/img/evil.gz",
    "/linkdir/info",
    "/linkdir/",
    "/%ZZ",
  ];

  test.each(attempts)("%s is refused without the outside bytes", async (path) => {
    const r = await raw(server.port, "GET", path, { "Accept-Encoding": "identity" });
    expect([403, 404]).toContain(r.status);
    expect(r.body.toString("latin1")).not.toContain(SECRET);
  });

  test("absolute paths are taken inside the root", async () => {
    const secret = join(tmp, "secret.txt");
    for (const path of [secret, `/${secret}`, encodeURIComponent(secret)]) {
      const r = await raw(server.port, "GET", path.startsWith("/") ? path : `/${path}`);
      expect(r.status).toBe(404);
      expect(r.body.toString()).not.toContain(SECRET);
    }
  });

  test("climbing attempts get 403, symlinks out of the root too", async () => {
    expect((await raw(server.port, "GET", "/%2e%2e/secret.txt")).status).toBe(403);
    expect((await raw(server.port, "GET", "/link.txt")).status).toBe(403);
    expect((await raw(server.port, "GET", "/img/evil")).status).toBe(403);
    expect((await raw(server.port, "GET", "/linkdir/info")).status).toBe(403);
  });

  test("a symlink that stays inside the root is served", async () => {
    const r = await raw(server.port, "GET", "/inside-link.txt");
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe("inside");
  });

  test("resolveInside keeps paths under the root and refuses the rest", () => {
    expect(resolveInside("/srv/data", "/a/b")).toBe("/srv/data/a/b");
    expect(resolveInside("/srv/data", "/a/../b?x=1")).toBe("/srv/data/b");
    expect(resolveInside("/srv/data", "/")).toBe("/srv/data");
    expect(resolveInside("/srv/data", "/etc/passwd")).toBe("/srv/data/etc/passwd");
    expect(resolveInside("/srv/data", "/..data/x")).toBe("/srv/data/..data/x");
    expect(resolveInside("/srv/data", "/../data2/x")).toBeNull();
    expect(resolveInside("/srv/data", "/a/%2e%2e/%2e%2e/x")).toBeNull();
    expect(resolveInside("/srv/data", "/a%5Cb")).toBeNull();
    expect(resolveInside("/srv/data", "/a%00")).toBeNull();
    expect(resolveInside("/srv/data", "/%E0%A4%A")).toBeNull();
  });
});

describe("directories", () => {
  test("a directory without its slash redirects to it, relative to the request", async () => {
    const r = await raw(server.port, "GET", "/group");
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe("group/");
  });

  test("a directory lists its entries, or serves its index.html", async () => {
    const list = await raw(server.port, "GET", "/group/");
    expect(list.status).toBe(200);
    expect(list.body.toString()).toBe("seg\n");
    await mkdir(join(root, "site"));
    await writeFile(join(root, "site", "index.html"), "<p>hi</p>");
    const index = await raw(server.port, "GET", "/site/");
    expect(index.headers["content-type"]).toMatch(/text\/html/);
    expect(index.body.toString()).toBe("<p>hi</p>");
  });
});

describe("findLayers and the Neuroglancer state", () => {
  test("finds layers at the root and nested up to two levels, sorted, with their types", async () => {
    const layers = await findLayers(root);
    expect(layers).toEqual([
      { path: "brimg", name: "brimg", type: "image" },
      { path: "group/seg", name: "seg", type: "segmentation" },
      { path: "img", name: "img", type: "image" },
      { path: "plain", name: "plain", type: "image" },
    ]);
  });

  test("skips hidden directories, infos without scales, and layers too deep", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ngpipe-find-"));
    try {
      const info = JSON.stringify({ type: "image", scales: [] });
      for (const p of [".hidden/l", "a/b/c", "mesh"])
        await mkdir(join(dir, p), { recursive: true });
      await writeFile(join(dir, ".hidden/l/info"), info);
      await writeFile(join(dir, "a/b/c/info"), info);
      await writeFile(join(dir, "mesh/info"), '{"@type": "neuroglancer_legacy_mesh"}');
      await writeFile(join(dir, "a/b/info"), "not json");
      expect(await findLayers(dir)).toEqual([]);
      expect((await findLayers(dir, 3)).map((l) => l.path)).toEqual(["a/b/c"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a layer given directly is found at path '' and named after its directory", async () => {
    expect(await findLayers(join(root, "group", "seg"))).toEqual([
      { path: "", name: "seg", type: "segmentation" },
    ]);
  });

  test("the state has one precomputed:// source per layer", async () => {
    const layers = await findLayers(root);
    const state = neuroglancerState("http://127.0.0.1:8000", layers);
    expect(state.layers).toContainEqual({
      type: "segmentation",
      source: "precomputed://http://127.0.0.1:8000/group/seg",
      name: "seg",
    });
    expect(state.layers).toHaveLength(4);
    expect(
      neuroglancerState("http://h:1", [{ path: "", name: "x", type: "image" }]).layers[0].source,
    ).toBe("precomputed://http://h:1");
  });

  test("the URL carries the state after #! on the chosen viewer", async () => {
    const layers = await findLayers(root);
    const url = neuroglancerUrl("http://127.0.0.1:8000", layers, "http://localhost:9000/");
    expect(url.startsWith("http://localhost:9000/#!")).toBe(true);
    const state = JSON.parse(decodeURIComponent(url.slice(url.indexOf("#!") + 2)));
    expect(state).toEqual(neuroglancerState("http://127.0.0.1:8000", layers));
  });
});

describe("startViewServer", () => {
  test("serves the root on a free loopback port and stops on close", async () => {
    const s = await startViewServer(root);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect((await fetch(`${s.url}/img/info`)).status).toBe(200);
    await s.close();
    await expect(fetch(`${s.url}/img/info`)).rejects.toThrow();
  });

  test("a port in use is an error", async () => {
    await expect(startViewServer(root, { port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
