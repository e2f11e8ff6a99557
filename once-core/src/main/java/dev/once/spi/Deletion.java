package dev.once.spi;

/** What {@link IdempotencyStore#delete} did to the record of a key. */
public enum Deletion {
  /** A completed record was deleted: the next request with the key runs again. */
  DELETED,
  /**
   * An in-progress record was deleted because the caller forced it: the next request with the key
   * runs, possibly while the request that held it is still running.
   */
  FORCED,
  /** The record is in progress and deletion was not forced: nothing changed. */
  IN_PROGRESS,
  /** There was no live record of the key: nothing changed. */
  ABSENT
}
