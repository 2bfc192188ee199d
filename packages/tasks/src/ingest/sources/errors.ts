/** Typed errors of the ingest source readers. */
import type { BlockBox } from "./types";

/** Base class of every ingest source error; `source` names the file or URL. */
export class SourceError extends Error {
  constructor(
    message: string,
    readonly source: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file holds no dataset (HDF5) or array (Zarr) at the requested path. */
export class DatasetNotFoundError extends SourceError {
  constructor(
    source: string,
    readonly dataset: string | undefined,
    /** The datasets/arrays that are present, for the user to pick from. */
    readonly available: string[],
  ) {
    const what = dataset === undefined ? "no dataset was named" : `no dataset "${dataset}"`;
    const list = available.length > 0 ? available.join(", ") : "(none)";
    super(`${source}: ${what}; datasets present: ${list}`, source);
  }
}

/** The source stores a data type ngpipe volumes can't hold (float16, complex, strings...). */
export class UnsupportedDataTypeError extends SourceError {
  constructor(
    source: string,
    readonly sourceType: string,
  ) {
    super(
      `${source}: data type ${sourceType} is not supported (use uint8..uint64, int8..int64, float32 or float64)`,
      source,
    );
  }
}

/** Slices of a stack disagree in shape or type, or the axes don't fit the array. */
export class ShapeMismatchError extends SourceError {}

/** The file is not what its name says or is truncated. */
export class CorruptSourceError extends SourceError {}

/** A block requested outside the volume, or an empty one. */
export class BlockOutOfBoundsError extends SourceError {
  constructor(
    source: string,
    readonly bbox: BlockBox,
    readonly shape: readonly number[],
  ) {
    super(
      `${source}: block [${bbox.min.join(",")}]-[${bbox.max.join(",")}) is empty or outside the volume of size [${shape.slice(0, 3).join(",")}]`,
      source,
    );
  }
}

/** A dataset's metadata object (BigArray `config.json`, HyperSquare `metadata.json`) is missing or unreadable. */
export class MissingConfigError extends SourceError {
  constructor(
    source: string,
    /** The key of the metadata object, relative to the dataset. */
    readonly key: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${source}: ${key} ${detail}`, source, options);
  }
}

/** A chunk coding (compression) the reader does not know. */
export class UnknownCodingError extends SourceError {
  constructor(
    source: string,
    /** The key that names the coding (e.g. `config.json`). */
    readonly key: string,
    /** The coding as written there. */
    readonly coding: string,
    known: readonly string[],
  ) {
    super(
      `${source}: ${key} names the coding "${coding}", which is not one of ${known.join(", ")}`,
      source,
    );
  }
}
