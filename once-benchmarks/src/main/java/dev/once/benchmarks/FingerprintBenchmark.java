package dev.once.benchmarks;

import dev.once.Fingerprint;
import org.openjdk.jmh.annotations.Benchmark;

/**
 * The request hash alone (not in the seed): {@link Fingerprint#of} of the seed's {@code POST
 * /test}, without a body as {@code Middleware_CacheHit} sends it, with the seed's 52-byte JSON
 * body as {@code Middleware_WithBodyHash} does, and with a 64 KiB body (the most the servlet
 * adapter trusts a {@code Content-Length} for before the bytes arrive). What the middleware rows
 * with {@code requestHashCheck=true} pay on top of those with {@code false} is mostly this and
 * reading the body.
 *
 * <p>Run (after {@code mvn -B -ntp -pl once-benchmarks -am package -DskipTests}):
 *
 * <pre>
 * java -jar once-benchmarks/target/benchmarks.jar 'FingerprintBenchmark' -prof gc
 * </pre>
 */
public class FingerprintBenchmark extends SeedSettings {
  private static final byte[] NO_BODY = new byte[0];
  private static final byte[] LARGE_BODY = new byte[64 * 1024];

  /** The fingerprint of a request without a body. */
  @Benchmark
  public Fingerprint Fingerprint_NoBody() {
    return Fingerprint.of("POST", "/test", null, NO_BODY);
  }

  /** The fingerprint of a request with the seed's JSON body. */
  @Benchmark
  public Fingerprint Fingerprint_JsonBody() {
    return Fingerprint.of("POST", "/test", null, Fixtures.PAYMENT_BODY);
  }

  /** The fingerprint of a request with a 64 KiB body. */
  @Benchmark
  public Fingerprint Fingerprint_64KiBBody() {
    return Fingerprint.of("POST", "/test", null, LARGE_BODY);
  }
}
