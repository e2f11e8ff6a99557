package dev.once.benchmarks.http;

/**
 * One timed run of one workload against one mode.
 *
 * @param requests the responses received
 * @param seconds how long the run took
 * @param p50Micros the median latency, in microseconds
 * @param p99Micros the 99th percentile latency, in microseconds
 * @param errors socket errors and timeouts
 * @param unexpectedStatus responses whose status was not the expected one (2xx)
 */
record RunResult(
    long requests, double seconds, double p50Micros, double p99Micros, long errors,
    long unexpectedStatus) {

  /** @return requests per second */
  double rps() {
    return requests / seconds;
  }
}
