package dev.once.benchmarks.http;

import java.net.URI;

/**
 * The server the harness measures: the same trivial POST handler in every mode, bare ({@link
 * BenchServer#BARE}) and behind {@code once} on each engine, differing only by {@code once}.
 */
interface ServerUnderTest extends AutoCloseable {

  /** @return the URL of a mode's handler */
  URI uri(String mode);
}
