// The database's health, for readiness probes.

/** Answers when the database answers a trivial query; throws when it cannot. */
export interface DatabaseProbe {
  ping(): Promise<void>;
}
