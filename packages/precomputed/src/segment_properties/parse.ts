/**
 * Segment properties from the tables labs keep: CSV (a header row with an
 * `id` column) or JSON (a list of records, an object of records keyed by
 * id, or a complete `neuroglancer_segment_properties` info).
 *
 * Column (or field) types: `label`, `description` and `tags` by name,
 * anything else `number` when every value is a number and `string`
 * otherwise. A CSV header may name a type as `column:type`, with type one
 * of label, description, string, tags, number or a number data type
 * (uint8, int8, uint16, int16, uint32, int32, float32). Numbers get the
 * narrowest integer data type that holds them, else float32. Tags are
 * space-separated in CSV (a leading `#` is dropped) and an array or a
 * space-separated string in JSON.
 */
import {
  fitsNumberType,
  isUint64String,
  NUMBER_DATA_TYPES,
  type NumberDataType,
  numberTypeFor,
  SEGMENT_PROPERTIES_TYPE,
  SegmentPropertiesError,
  type SegmentPropertiesJSON,
  type SegmentProperty,
  validateSegmentProperties,
} from "./format";

type ColumnType = "label" | "description" | "string" | "tags" | "number" | NumberDataType;
const COLUMN_TYPES: readonly string[] = [
  "label",
  "description",
  "string",
  "tags",
  "number",
  ...NUMBER_DATA_TYPES,
];

/** A column of a table: one cell per row (undefined when absent), and how to name a cell in errors. */
interface Column {
  name: string;
  type?: ColumnType;
  cells: unknown[];
  where(row: number): string;
}

/**
 * Splits CSV text into rows of cells (RFC 4180: quoted cells may hold
 * commas, newlines and doubled quotes; CRLF or LF line ends). Returns each
 * row with its 1-based line number.
 */
export function parseCsv(text: string, file: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === "")) rows.push({ line: rowLine, cells });
    cells = [];
    cell = "";
  };
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        cell += c;
      }
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") {
      cells.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRow();
      line++;
      rowLine = line;
    } else cell += c;
  }
  if (quoted)
    throw new SegmentPropertiesError(file, `row ${rowLine}`, "a quoted cell is not closed");
  if (cell !== "" || cells.length) endRow();
  return rows;
}

/** Segment properties from CSV text (see the module comment). */
export function segmentPropertiesFromCsv(text: string, file: string): SegmentPropertiesJSON {
  const rows = parseCsv(text, file);
  if (rows.length === 0)
    throw new SegmentPropertiesError(
      file,
      "",
      "the file is empty (expected a header row with an id column)",
    );
  const header = rows[0].cells.map((h) => h.trim());
  const idCol = header.findIndex((h) => h.toLowerCase() === "id");
  if (idCol < 0)
    throw new SegmentPropertiesError(
      file,
      "row 1",
      `no "id" column in the header (${header.join(", ")})`,
    );
  const data = rows.slice(1);
  data.forEach((r) => {
    if (r.cells.length !== header.length)
      throw new SegmentPropertiesError(
        file,
        `row ${r.line}`,
        `has ${r.cells.length} cells, the header ${header.length}`,
      );
  });
  const ids = data.map((r) => r.cells[idCol].trim());
  checkIds(ids, (i) => `row ${data[i].line}, column "id"`, file);
  const columns: Column[] = [];
  header.forEach((h, c) => {
    if (c === idCol) return;
    const colon = h.lastIndexOf(":");
    const typed =
      colon > 0 &&
      COLUMN_TYPES.includes(
        h
          .slice(colon + 1)
          .trim()
          .toLowerCase(),
      );
    const name = typed ? h.slice(0, colon).trim() : h;
    if (name === "") throw new SegmentPropertiesError(file, "row 1", `column ${c + 1} has no name`);
    const type = typed
      ? (h
          .slice(colon + 1)
          .trim()
          .toLowerCase() as ColumnType)
      : undefined;
    columns.push({
      name,
      type,
      cells: data.map((r) => r.cells[c]),
      where: (i) => `row ${data[i].line}, column "${name}"`,
    });
  });
  return build(ids, columns, file, "csv");
}

/** Segment properties from JSON text: records, records by id, or a complete properties info. */
export function segmentPropertiesFromJson(text: string, file: string): SegmentPropertiesJSON {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SegmentPropertiesError(file, "", `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json === "object" && json !== null && !Array.isArray(json) && "@type" in json)
    return validateSegmentProperties(json, file);
  let records: [string, unknown, string][];
  if (Array.isArray(json)) {
    records = json.map((r, i) => {
      const id =
        typeof r === "object" && r !== null ? (r as Record<string, unknown>).id : undefined;
      return [
        typeof id === "number" && Number.isSafeInteger(id) ? String(id) : (id as string),
        r,
        `[${i}]`,
      ];
    });
  } else if (typeof json === "object" && json !== null) {
    records = Object.entries(json).map(([id, r]) => [id, r, `[${JSON.stringify(id)}]`]);
  } else
    throw new SegmentPropertiesError(
      file,
      "",
      "must be a list of records, an object of records by id, or a segment properties info",
    );
  records.forEach(([, r, at]) => {
    if (typeof r !== "object" || r === null || Array.isArray(r))
      throw new SegmentPropertiesError(
        file,
        at,
        "each record must be an object of property values",
      );
  });
  const ids = records.map(([id]) => id);
  checkIds(ids, (i) => `${records[i][2]}.id`, file);
  const names: string[] = [];
  for (const [, r] of records)
    for (const k of Object.keys(r as object)) if (k !== "id" && !names.includes(k)) names.push(k);
  const columns = names.map((name) => ({
    name,
    cells: records.map(([, r]) => (r as Record<string, unknown>)[name]),
    where: (i: number) => `${records[i][2]}.${name}`,
  }));
  return build(ids, columns, file, "json");
}

/**
 * Segment properties from a file's text, by its name: `.csv` is CSV,
 * anything else JSON.
 * @throws SegmentPropertiesError naming the file and row or field.
 */
export function parseSegmentPropertiesFile(text: string, file: string): SegmentPropertiesJSON {
  return file.toLowerCase().endsWith(".csv")
    ? segmentPropertiesFromCsv(text, file)
    : segmentPropertiesFromJson(text, file);
}

function checkIds(
  ids: unknown[],
  where: (i: number) => string,
  file: string,
): asserts ids is string[] {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    if (!isUint64String(id))
      throw new SegmentPropertiesError(
        file,
        where(i),
        `${JSON.stringify(id)} is not a segment id (a base-10 uint64)`,
      );
    const first = seen.get(id);
    if (first !== undefined)
      throw new SegmentPropertiesError(
        file,
        where(i),
        `segment ${id} is listed twice (first at ${where(first)})`,
      );
    seen.set(id, i);
  });
}

function tagList(v: unknown, where: string, file: string): string[] {
  if (v === undefined || v === null || v === "") return [];
  const list = typeof v === "string" ? v.split(/\s+/) : v;
  if (!Array.isArray(list) || !list.every((t) => typeof t === "string"))
    throw new SegmentPropertiesError(
      file,
      where,
      "tags must be a list of strings or space-separated text",
    );
  return list.map((t) => t.replace(/^#/, "")).filter((t) => t !== "");
}

function build(
  ids: string[],
  columns: Column[],
  file: string,
  kind: "csv" | "json",
): SegmentPropertiesJSON {
  const properties: SegmentProperty[] = [];
  for (const col of columns) {
    const lower = col.name.toLowerCase();
    const type: ColumnType =
      col.type ??
      (lower === "label" || lower === "description" || lower === "tags"
        ? lower
        : col.cells.every((v) => isNumeric(v, kind))
          ? "number"
          : "string");
    if (type === "tags") {
      const lists = col.cells.map((v, i) => tagList(v, col.where(i), file));
      const lowerSeen = new Map<string, string>();
      for (const l of lists)
        for (const t of l) if (!lowerSeen.has(t.toLowerCase())) lowerSeen.set(t.toLowerCase(), t);
      const tags = [...lowerSeen.values()].sort();
      const index = new Map(tags.map((t, k) => [t.toLowerCase(), k]));
      properties.push({
        id: col.name,
        type: "tags",
        tags,
        values: lists.map((l) =>
          [...new Set(l.map((t) => index.get(t.toLowerCase()) as number))].sort((a, b) => a - b),
        ),
      });
    } else if (type === "label" || type === "description" || type === "string") {
      properties.push({
        id: col.name,
        type,
        values: col.cells.map((v, i) => {
          if (v === undefined || v === null) return "";
          if (typeof v === "object")
            throw new SegmentPropertiesError(
              file,
              col.where(i),
              `${JSON.stringify(v)} is not text`,
            );
          return String(v);
        }),
      });
    } else {
      const values = col.cells.map((v, i) => {
        if (!isNumeric(v, kind))
          throw new SegmentPropertiesError(
            file,
            col.where(i),
            `${JSON.stringify(v ?? null)} is not a number`,
          );
        return typeof v === "number" ? v : Number(String(v).trim());
      });
      const dataType = type === "number" ? numberTypeFor(values) : type;
      values.forEach((v, i) => {
        if (!fitsNumberType(v, dataType))
          throw new SegmentPropertiesError(file, col.where(i), `${v} does not fit ${dataType}`);
      });
      properties.push({ id: col.name, type: "number", data_type: dataType, values });
    }
  }
  return validateSegmentProperties(
    { "@type": SEGMENT_PROPERTIES_TYPE, inline: { ids, properties } },
    file,
  );
}

function isNumeric(v: unknown, kind: "csv" | "json"): boolean {
  if (typeof v === "number") return Number.isFinite(v);
  if (kind === "json" || typeof v !== "string" || v.trim() === "") return false;
  return Number.isFinite(Number(v.trim()));
}
