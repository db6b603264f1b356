const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids come from URLs and cursors: anything that is not a uuid names nothing. */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
