/**
 * `ngpipe ls | cp | rm | du | cat`: objects on any storage, the way
 * CloudFiles' command line handles them (file://, gs://, s3://, mem://,
 * http(s):// for reading), through @ngpipe/storage: retries, compression
 * kept as stored, server-side copies within one cloud.
 */
import { statSync } from "node:fs";
import { FileBackend, openStorage, type Storage, transfer } from "@ngpipe/storage";
import type { Command } from "commander";
import { parseCompress, toUrl } from "../args";
import { UsageError } from "../errors";

/** The storage holding `url`'s last path component, and that component as its key. */
export function splitObjectUrl(url: string): { storage: Storage; key: string } {
  const u = url.replace(/\/+$/, "");
  const slash = u.lastIndexOf("/");
  const key = u.slice(slash + 1);
  const parent = u.slice(0, slash);
  if (key === "" || parent.endsWith(":/") || parent.endsWith(":")) {
    throw new UsageError(`${url} names no object (a key after the bucket or directory)`);
  }
  return { storage: openStorage(parent), key };
}

/** Whether a local path is a directory (false for anything unreadable: the put reports it). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * The storage of a directory to list: a local directory must exist (a typo
 * must not look like an empty directory); an empty cloud prefix stays silent,
 * as CloudFiles does, since prefixes are not objects there.
 */
function listedStorage(url: string): Storage {
  const st = openStorage(toUrl(url));
  if (st.backend instanceof FileBackend && !isDirectory(st.backend.root))
    throw new UsageError(`no directory at ${st.backend.root}`);
  return st;
}

async function listAll(st: Storage, recursive: boolean): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of st.list("", { recursive })) keys.push(k);
  return keys;
}

export function registerFileCommands(program: Command): void {
  program
    .command("ls")
    .description("list the objects under a path or URL (directories end in /)")
    .argument("<url>", "path or URL")
    .option("-r, --recursive", "every object below, not only direct children")
    .action(async (url: string, o) => {
      const st = listedStorage(url);
      for await (const k of st.list("", { recursive: Boolean(o.recursive) }))
        process.stdout.write(`${st.url}/${k}\n`);
    });

  program
    .command("cp")
    .description(
      "copy one object, or with -r every object under a path, to another path or URL (stored bytes and compression kept unless --compress)",
    )
    .argument("<src>", "source path or URL")
    .argument("<dst>", "destination path or URL (with -r: the directory the objects go under)")
    .option("-r, --recursive", "copy every object under <src>")
    .option("--compress <how>", "store with gzip, br or none (default: as stored)")
    .action(async (src: string, dst: string, o) => {
      const how = parseCompress(o.compress);
      const compress = how === "none" ? false : how;
      if (o.recursive) {
        const r = await transfer(openStorage(toUrl(src)), openStorage(toUrl(dst)), {
          compress,
          onProgress: (done) => {
            if (done % 1000 === 0) process.stderr.write(`${done} object(s) copied\n`);
          },
        });
        process.stderr.write(`copied ${r.copied} object(s), ${humanBytes(r.bytes)}\n`);
        if (r.failed.length > 0)
          throw new UsageError(
            `${r.failed.length} object(s) failed, first ${r.failed[0].key}: ${r.failed[0].error.message}`,
          );
        return;
      }
      const from = splitObjectUrl(toUrl(src));
      const data = await from.storage.get(from.key);
      if (data === null) throw new UsageError(`no object at ${from.storage.url}/${from.key}`);
      // Into a directory when `dst` ends in "/" or is an existing local
      // directory, as cp and gsutil do.
      const dstUrl = toUrl(dst);
      const isDir =
        /\/$/.test(dst) || (dstUrl.startsWith("file://") && isDirectory(dstUrl.slice(7)));
      const target = isDir ? `${dstUrl.replace(/\/+$/, "")}/${from.key}` : dstUrl;
      const to = splitObjectUrl(target);
      const head = await from.storage.head(from.key);
      await to.storage.put(to.key, data, {
        contentType: head?.contentType,
        compress: compress ?? head?.contentEncoding ?? false,
      });
      process.stderr.write(
        `copied ${from.storage.url}/${from.key} to ${to.storage.url}/${to.key}\n`,
      );
    });

  program
    .command("rm")
    .description("delete one object, or with -r every object under a path")
    .argument("<url>", "path or URL")
    .option("-r, --recursive", "delete every object under <url>")
    .action(async (url: string, o) => {
      if (o.recursive) {
        const st = openStorage(toUrl(url));
        const keys = await listAll(st, true);
        if (keys.length === 0) {
          // Like rm -r on a file: one object at that URL.
          const one = splitObjectUrl(toUrl(url));
          if (!(await one.storage.exists(one.key))) throw new UsageError(`nothing at ${st.url}`);
          await one.storage.delete(one.key);
          process.stderr.write(`deleted ${one.storage.url}/${one.key}\n`);
          return;
        }
        const results = await st.deleteMany(keys);
        const failed = results.filter((r) => !r.ok);
        process.stderr.write(`deleted ${keys.length - failed.length} object(s) under ${st.url}\n`);
        if (failed.length > 0 && !failed[0].ok)
          throw new UsageError(
            `${failed.length} deletion(s) failed, first: ${failed[0].error.message}`,
          );
        return;
      }
      const { storage, key } = splitObjectUrl(toUrl(url));
      if (!(await storage.exists(key)))
        throw new UsageError(`no object at ${storage.url}/${key} (use -r for a directory)`);
      await storage.delete(key);
    });

  program
    .command("du")
    .description(
      "objects and bytes (as stored) under a path or URL, and temporary files interrupted writes left (file://)",
    )
    .argument("<url>", "path or URL")
    .action(async (url: string) => {
      const st = listedStorage(url);
      const keys = await listAll(st, true);
      let bytes = 0;
      for (let i = 0; i < keys.length; i += 256) {
        const sizes = await Promise.all(keys.slice(i, i + 256).map((k) => st.size(k)));
        for (const s of sizes) bytes += s ?? 0;
      }
      let temps = 0;
      let tempBytes = 0;
      for await (const t of st.temporaries()) {
        temps++;
        tempBytes += t.size;
      }
      process.stdout.write(
        `${humanBytes(bytes)}\t${keys.length} object(s)\t${st.url}` +
          (temps > 0
            ? `\t(and ${temps} temporary file(s), ${humanBytes(tempBytes)}, left by interrupted writes)`
            : "") +
          "\n",
      );
    });

  program
    .command("cat")
    .description("write an object's bytes (decompressed) to standard output")
    .argument("<url>", "path or URL of one object")
    .action(async (url: string) => {
      const { storage, key } = splitObjectUrl(toUrl(url));
      const data = await storage.get(key);
      if (data === null) throw new UsageError(`no object at ${storage.url}/${key}`);
      await new Promise<void>((resolve, reject) =>
        process.stdout.write(data, (err) => (err ? reject(err) : resolve())),
      );
    });
}
