package dev.once.testing;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

/**
 * What a store test claims and completes with when the values themselves are not what it proves:
 * a lease or ttl that no test outlives, the fingerprint of a POST of {@code {}} to
 * {@code /payments}, and a 201 answer to it.
 */
public final class StoreFixtures {
  /** A lease or ttl that no test outlives: five minutes. */
  public static final Duration LONG = Duration.ofMinutes(5);

  /** The fingerprint of {@code POST /payments} with the body {@code {}}. */
  public static final Fingerprint FINGERPRINT =
      Fingerprint.of("POST", "/payments", null, "{}".getBytes(StandardCharsets.UTF_8));

  /** A 201 with no headers and the body {@code {"id":1}}. */
  public static final StoredResponse CREATED =
      StoredResponse.of(201, List.of(), "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  private StoreFixtures() {}
}
