package dev.once.proxy;

/**
 * The benchmark's baseline: the same Jetty server and proxy servlet as {@link OnceProxy}, with no
 * idempotency filter and no health endpoint, so the benchmark measures what the idempotency adds.
 * Not for use in front of a service, and not in the proxy's jar: {@code
 * once-proxy/bench/run-wrk.sh} runs it from the test classes. Takes the same flags ({@code
 * --listen}, {@code --upstream}, {@code --upstream-timeout}; the others are read and ignored):
 * {@code java -cp once-proxy/target/once-proxy.jar:once-proxy/target/test-classes
 * dev.once.proxy.PlainProxy --upstream URL --listen HOST:PORT}.
 */
final class PlainProxy {
  private PlainProxy() {}

  /**
   * Runs the plain proxy until it is stopped by a signal.
   *
   * @param args the flags
   */
  public static void main(String[] args) {
    System.exit(OnceProxy.run(args, System.getenv(), System.out, System.err, true));
  }
}
