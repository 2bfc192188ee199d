import { InvalidKeyError, StorageError } from "./errors";

test("storage errors are catchable by class and carry the url and key", () => {
  const err = new InvalidKeyError("key climbs out of the root: ../x", "file:///data", "../x");
  expect(err).toBeInstanceOf(StorageError);
  expect(err.name).toBe("InvalidKeyError");
  expect(err.key).toBe("../x");
  expect(err.url).toBe("file:///data");
});
