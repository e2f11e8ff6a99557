package dev.once;

/**
 * What the engine does with a request whose outcome cannot be known: the upstream (or handler)
 * had the request, then the connection to it broke, or it never answered within its deadline. In
 * both cases the key is first held until its lease passes, so no retry ever overlaps the first
 * request; this chooses what comes after.
 */
public enum UnknownOutcome {
  /**
   * After the lease passes the key is free: a later retry runs the request again (which the
   * upstream may then do a second time). The default, as a client expects of a gateway error.
   */
  RETRY,
  /**
   * The outcome is recorded as unknown for the ttl: every retry gets 502 {@code outcome-unknown}
   * and the request never runs twice under that key. For operations that must never repeat.
   */
  KEEP
}
