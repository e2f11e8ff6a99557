package dev.once.benchmarks.http;

/** What the load generator sends. */
enum Workload {
  /** POST without a key: the filter lets it pass. */
  NO_KEY("nokey"),
  /** POST with one key for every request, completed before the run: every request is a replay. */
  HIT("hit"),
  /** POST with a new key per request: every request runs the handler and is stored. */
  UNIQUE("unique");

  final String id;

  Workload(String id) {
    this.id = id;
  }

  /** @return the key every request of a {@link #HIT} run sends */
  static String hitKey(String prefix) {
    return prefix + "-hit";
  }
}
