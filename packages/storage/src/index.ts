export * from "./errors";
export type * from "./types";
