package dev.once.benchmarks.http;

import java.io.IOException;
import java.net.URI;
import org.jspecify.annotations.Nullable;

/** A server of the harness: the same trivial POST handler under one path per mode. */
interface ModeServer extends AutoCloseable {
  /** @return the URL of a mode's handler */
  URI uri(String mode);

  /**
   * The collections of the mode's own JVM since the previous call, for servers that run each mode
   * in a JVM of its own.
   *
   * @param mode the mode
   * @return its collections, or null when the modes share the harness's JVM
   * @throws IOException if its GC log cannot be read
   */
  default @Nullable GcPauses collectionsSinceLastCall(String mode) throws IOException {
    return null;
  }

  /**
   * The processor time the mode's own JVM used since the previous call (every thread: the
   * requests', the collector's, the compiler's), for servers that run each mode in a JVM of its
   * own: unlike requests per second, it does not depend on what else the machine runs.
   *
   * @param mode the mode
   * @return milliseconds, or a negative number when the modes share the harness's JVM or the
   *     platform does not tell
   */
  default double cpuMillisSinceLastCall(String mode) {
    return -1;
  }
}
