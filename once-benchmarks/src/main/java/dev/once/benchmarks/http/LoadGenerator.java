package dev.once.benchmarks.http;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;

/** Sends a closed-loop load of POST requests to one URL for a while and measures it. */
interface LoadGenerator {

  /**
   * Runs one workload.
   *
   * @param target the URL to POST to
   * @param workload what to send
   * @param keyPrefix a prefix no earlier run used, for the keys of this run
   * @param duration how long to send
   * @return what was measured
   * @throws IOException if the generator cannot run
   */
  RunResult run(URI target, Workload workload, String keyPrefix, Duration duration)
      throws IOException, InterruptedException;

  /** @return the generator's name and version, for the report */
  String describe();
}
