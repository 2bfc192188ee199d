export {
  compressBytes,
  compressSync,
  DEFAULT_COMPRESSION_LEVEL,
  type DecompressOptions,
  decompressBytes,
  decompressInto,
  decompressSync,
  maxJsonBytes,
} from "./compression";
export {
  type AwsCredentialConfig,
  type CredentialSource,
  findSecretFile,
  type GoogleCredentialConfig,
  resolveAwsCredentials,
  resolveGoogleCredentials,
  secretDirectories,
} from "./credentials";
export {
  AbortError,
  DecompressionError,
  DecompressionLimitError,
  IntegrityError,
  InvalidKeyError,
  InvalidUrlError,
  JsonDecodeError,
  NotSupportedError,
  PermissionDeniedError,
  PreconditionFailedError,
  ReadOnlyStorageError,
  RequestError,
  StorageError,
  TransientError,
} from "./errors";
export { FileBackend } from "./file";
export { GcsBackend } from "./gcs";
export { HttpBackend } from "./http";
export { forEachLimit, type LimitInput, type LimitOptions } from "./limit";
export {
  clearMemoryStores,
  MemoryBackend,
} from "./memory";
export {
  type BackendFactory,
  openStorage,
  type ParsedStorageUrl,
  parseStorageUrl,
  registerBackend,
  registeredSchemes,
} from "./open";
export {
  abortable,
  backoffDelay,
  isAbortError,
  isRetryableError,
  type RetryPolicy,
  sleep,
  withRetries,
} from "./retry";
export { S3Backend } from "./s3";
export {
  type PutItem,
  type PutManyOptions,
  type PutRawOptions,
  Storage,
} from "./storage";
export {
  copy,
  type TransferOptions,
  type TransferResult,
  transfer,
} from "./transfer";
export type {
  Backend,
  BackendBatchDone,
  BackendReadDone,
  BatchOptions,
  BatchRead,
  BatchResult,
  ByteRange,
  CloudLocation,
  Compression,
  GetOptions,
  GetResult,
  IoOptions,
  ListOptions,
  ObjectInfo,
  ProgressCallback,
  PutOptions,
  PutResult,
  StorageOptions,
  TemporaryFile,
} from "./types";
