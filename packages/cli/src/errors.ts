/** A mistake of the user's (bad URL, missing layer, bad bbox): one line on stderr, no stack. */
export class UsageError extends Error {
  override name = "UsageError";
}
