package dev.once.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/**
 * Records as the versions before this one wrote them into Redis (format version 1, byte for byte,
 * from before the response part was encoded by core's {@code ResponseCodec}), and what they hold.
 * {@link RecordCodecTest} reads them and writes them again; {@link RedisStoreTest} reads them from
 * Redis through a store: instances of both versions can share a Redis, and an upgrade loses no
 * record.
 */
final class EarlierRecords {
  private static final HexFormat HEX = HexFormat.of();

  static final Token TOKEN = Token.fromBytes(HEX.parseHex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
  static final Fingerprint FINGERPRINT = Fingerprint.fromBytes(HEX.parseHex(
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"));
  static final StoredResponse CREATED = StoredResponse.of(201, List.of(
      new Header("Content-Type", "application/json"),
      new Header("X-Repeated", "one"),
      new Header("X-Repeated", "two"),
      new Header("X-Empty", ""),
      new Header("Location", "/payments/\u00e9t\u00e9/\u4e16")),
      "{\"id\":1}".getBytes(StandardCharsets.UTF_8));
  static final StoredResponse NOT_KEPT =
      StoredResponse.notReplayable(200, List.of(new Header("X-A", "b")));

  /** {@link #CREATED}, completed by {@link #TOKEN}, with {@link #FINGERPRINT}. */
  static final byte[] COMPLETED = HEX.parseHex(""
      + "0102a0a1a2a3a4a5a6a7a8a9aaabacadaeaf01202122232425262728292a2b2c"
      + "2d2e2f303132333435363738393a3b3c3d3e3f0100c9050c436f6e74656e742d"
      + "54797065106170706c69636174696f6e2f6a736f6e0a582d5265706561746564"
      + "036f6e650a582d52657065617465640374776f07582d456d70747900084c6f63"
      + "6174696f6e132f7061796d656e74732fc3a974c3a92fe4b896087b226964223a"
      + "317d");
  /** {@link #NOT_KEPT}, completed by {@link #TOKEN}, without a fingerprint. */
  static final byte[] COMPLETED_NOT_KEPT = HEX.parseHex(""
      + "0102a0a1a2a3a4a5a6a7a8a9aaabacadaeaf000000c80103582d41016200");
  /** The marker of an unknown outcome, completed by {@link #TOKEN}, with {@link #FINGERPRINT}. */
  static final byte[] COMPLETED_OUTCOME_UNKNOWN = HEX.parseHex(""
      + "0102a0a1a2a3a4a5a6a7a8a9aaabacadaeaf01202122232425262728292a2b2c"
      + "2d2e2f303132333435363738393a3b3c3d3e3f0201f60000");
  /** In progress, with {@link #FINGERPRINT} and the flag that someone awaits a change. */
  static final byte[] IN_PROGRESS_AWAITED = HEX.parseHex(""
      + "0101a0a1a2a3a4a5a6a7a8a9aaabacadaeaf03202122232425262728292a2b2c"
      + "2d2e2f303132333435363738393a3b3c3d3e3f");

  private EarlierRecords() {}

  /** Asserts that what was read is what was written (a claim has no {@code equals}). */
  static void assertReadAs(Claim read, Claim written) {
    assertThat(read).usingRecursiveComparison().isEqualTo(written);
  }
}
