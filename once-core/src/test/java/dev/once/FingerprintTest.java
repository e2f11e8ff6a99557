package dev.once;

import static dev.once.testing.Responses.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class FingerprintTest {
  @Test
  void theSameRequestHasTheSameFingerprint() {
    assertThat(Fingerprint.of("POST", "/p", "a=1", utf8("body")))
        .isEqualTo(Fingerprint.of("POST", "/p", "a=1", utf8("body")))
        .hasSameHashCodeAs(Fingerprint.of("POST", "/p", "a=1", utf8("body")));
  }

  @Test
  void eachPartChangesTheFingerprint() {
    Fingerprint base = Fingerprint.of("POST", "/p", "a=1", utf8("body"));

    assertThat(Fingerprint.of("PATCH", "/p", "a=1", utf8("body"))).isNotEqualTo(base);
    assertThat(Fingerprint.of("POST", "/q", "a=1", utf8("body"))).isNotEqualTo(base);
    assertThat(Fingerprint.of("POST", "/p", "a=2", utf8("body"))).isNotEqualTo(base);
    assertThat(Fingerprint.of("POST", "/p", "a=1", utf8("bodY"))).isNotEqualTo(base);
  }

  @Test
  void movingBytesBetweenPartsChangesTheFingerprint() {
    assertThat(Fingerprint.of("POST", "/p", "ab", utf8("c")))
        .isNotEqualTo(Fingerprint.of("POST", "/p", "a", utf8("bc")));
    assertThat(Fingerprint.of("POST", "/pa", null, utf8("")))
        .isNotEqualTo(Fingerprint.of("POST", "/p", "a", utf8("")));
  }

  @Test
  void anAbsentQueryIsTheSameAsAnEmptyOne() {
    assertThat(Fingerprint.of("POST", "/p", null, utf8("x")))
        .isEqualTo(Fingerprint.of("POST", "/p", "", utf8("x")));
  }

  @Test
  void aSliceOfABufferFingerprintsLikeTheSameBytesAlone() {
    byte[] buffer = utf8("xxbodyxx");

    assertThat(Fingerprint.of("POST", "/p", null, buffer, 2, 4))
        .isEqualTo(Fingerprint.of("POST", "/p", null, utf8("body")));
  }

  @Test
  void isASha256OfTheLengthPrefixedParts() throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    for (String part : new String[] {"POST", "/p", "q", "b"}) {
      sha.update(new byte[] {0, 0, 0, (byte) part.length()});
      sha.update(utf8(part));
    }

    assertThat(Fingerprint.of("POST", "/p", "q", utf8("b")).toBytes()).isEqualTo(sha.digest());
  }

  @Test
  void roundTripsThroughItsBytes() {
    Fingerprint fingerprint = Fingerprint.of("POST", "/p", null, utf8("x"));

    assertThat(Fingerprint.fromBytes(fingerprint.toBytes())).isEqualTo(fingerprint);
    assertThat(fingerprint.toString()).hasSize(64).matches("[0-9a-f]+");
    assertThatThrownBy(() -> Fingerprint.fromBytes(new byte[31]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a fingerprint is 32 bytes, but was 31");
  }

  /**
   * Stored records keep their fingerprints across upgrades, so these digests, computed by the
   * code of release 1 (a fresh SHA-256 per request, each part encoded with {@code getBytes}), must
   * never change: ASCII and non-ASCII text, unpaired surrogates (encoded as {@code ?}), a slice
   * of a buffer, parts longer than one SHA-256 block and a 100,000-byte body.
   */
  @Test
  void fingerprintsNeverChangeAcrossReleases() {
    for (Object[] pinned : pinnedCases()) {
      byte[] body = (byte[]) pinned[3];
      assertThat(Fingerprint.of((String) pinned[0], (String) pinned[1], (String) pinned[2], body)
          .toString()).as("%s %s", pinned[0], pinned[1]).isEqualTo(pinned[4]);
    }
    byte[] buffer = new byte[200];
    for (int i = 0; i < buffer.length; i++) {
      buffer[i] = (byte) (i * 7);
    }
    assertThat(Fingerprint.of("PATCH", "/slice", "", buffer, 3, 150).toString())
        .isEqualTo("7528d89d710331734d09585bd93e092e10adbe27b8c2903cf7f18d3cb13d7bf0");
  }

  /**
   * The documented bytes, hashed by a tool that is not this code: each expected digest is the
   * output of {@code sha256sum} over the layout written out by hand with {@code printf} (each part
   * a 4-byte big-endian length and its UTF-8 bytes, the body last), for example
   *
   * <pre>
   * printf '\0\0\0\4POST\0\0\0\5/test\0\0\0\0\0\0\0\0' | sha256sum
   * printf '\0\0\0\4POST\0\0\0\6/caf\303\251\0\0\0\5q=\350\267\257\0\0\0\3h\303\251' | sha256sum
   * { printf '\0\0\0\4POST\0\0\0\5/test\0\0\0\0\0\0\0\347'; head -c 231 /dev/zero | tr '\0' a; } \
   *     | sha256sum
   * </pre>
   *
   * The body lengths put the end of the message on each side of SHA-256's padding boundaries (55,
   * 56 and 64 bytes in all) and of the 256 bytes a pooled digest's scratch array holds, and the
   * long path is past what that array ever grows to.
   */
  @Test
  void isTheSha256OfTheDocumentedBytesAsSha256sumComputesIt() {
    assertThat(Fingerprint.of("POST", "/test", null, new byte[0]).toString())
        .isEqualTo("865670168318c8b728c60f8fd9b16ecccb5a7e049ac6eeb95bad5e4ec0d60fd9");
    assertThat(Fingerprint.of("PUT", "/orders/42", "currency=EUR&amount=10",
        utf8("{\"amount\":100,\"currency\":\"USD\",\"recipient\":\"user123\"}")).toString())
        .isEqualTo("d8959a11399be680a3a907b885cec1e38bf44421ce1259c410fbd94790439d3f");
    assertThat(Fingerprint.of("POST", "/caf\u00e9", "q=\u8def", utf8("h\u00e9")).toString())
        .isEqualTo("6a30b927d13f0e30bf0b1a1e2654716785fa11d12c1ccf35a87e9e714afc6c34");
    assertThat(Fingerprint.of("POST", "/a\ud800b", null, new byte[0]).toString())
        .isEqualTo("79704327f4bba9345fb60d708746a0d3f4da76410d6a9542d4dea426dc5ee275");
    String[][] bodies = {
        {"30", "01caf85ad5c2d2040791ecd7a65bc6bf09d6b9a7bfb9b2c59f790c54b3b2c646"},
        {"31", "1ebf0b385995a49877ae7b731ec51901696b6f935888f5e9cf06108223470571"},
        {"39", "a9b4d50a7c76c54d99aae6068ff3176962deadc3caec75b363c9936163d5f95b"},
        {"231", "379bc8c7d7c6101231691fb44f36c5128e65e8b5fd76f20e5da8e9702e447088"},
        {"232", "1bd6ed7e4e7e979aab962720b43c7c59a722104a6222d4e3e002065cca8ab5e9"},
        {"1000", "e2fc84f41cb17ed680b33320583d9939163a66b3efe313aabdf89cfc3c2ce5e4"}};
    for (String[] pinned : bodies) {
      byte[] body = utf8("a".repeat(Integer.parseInt(pinned[0])));
      assertThat(Fingerprint.of("POST", "/test", null, body).toString())
          .as("a body of %s bytes", pinned[0]).isEqualTo(pinned[1]);
    }
    assertThat(Fingerprint.of("POST", "/" + "x".repeat(1500), "k=v", utf8("{}")).toString())
        .isEqualTo("174afc2f0263c8a4a59c64ecb65e7b4be9e30c1222909e7ef29579920516a6da");
  }

  @Test
  void aFailedFingerprintLeavesTheNextOneUnchanged() {
    byte[] body = utf8("{}");

    assertThatThrownBy(() -> Fingerprint.of("POST", "/payments", null, body, 1, 5))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> Fingerprint.of("POST", null, null, body))
        .isInstanceOf(NullPointerException.class);
    assertThat(Fingerprint.of("POST", "/payments", null, body).toString())
        .isEqualTo("0869208a790e5f4913de40c66d424d6e86d56f2fea764a713cc5aa2503b23c82");
  }

  @Test
  void manyThreadsAtOnceEachGetTheirOwnRequestsFingerprint() throws Exception {
    List<Object[]> cases = pinnedCases();
    int threads = 32;
    int rounds = 500;
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int first = t;
        results.add(pool.submit(() -> {
          start.await();
          int right = 0;
          for (int i = 0; i < rounds; i++) {
            Object[] pinned = cases.get((first + i) % cases.size());
            String hex = Fingerprint.of((String) pinned[0], (String) pinned[1],
                (String) pinned[2], (byte[]) pinned[3]).toString();
            right += hex.equals(pinned[4]) ? 1 : 0;
          }
          return right;
        }));
      }
      int right = 0;
      for (Future<Integer> result : results) {
        right += result.get();
      }
      assertThat(right).isEqualTo(threads * rounds);
    } finally {
      pool.shutdownNow();
    }
  }

  private static List<Object[]> pinnedCases() {
    byte[] large = new byte[100_000];
    for (int i = 0; i < large.length; i++) {
      large[i] = (byte) (i * 31 + 7);
    }
    return List.of(
        new Object[] {"POST", "/payments", null, utf8("{}"),
            "0869208a790e5f4913de40c66d424d6e86d56f2fea764a713cc5aa2503b23c82"},
        new Object[] {"POST", "/test", null, new byte[0],
            "865670168318c8b728c60f8fd9b16ecccb5a7e049ac6eeb95bad5e4ec0d60fd9"},
        new Object[] {"PUT", "/orders/42", "currency=EUR&amount=10",
            utf8("{\"amount\":100,\"currency\":\"USD\",\"recipient\":\"user123\"}"),
            "d8959a11399be680a3a907b885cec1e38bf44421ce1259c410fbd94790439d3f"},
        new Object[] {"post", "/\u00fcn\u00efcode/\u8def\u5f84", "q=\u00e9&x=\ud83d\ude00",
            "h\u00e9llo".getBytes(StandardCharsets.UTF_8),
            "033e728de1402d04015a93089a439ed342093a6f9f355adc9437d5866cb47f79"},
        new Object[] {"POST", "/a\ud800b", "x\ud83d", utf8("z"),
            "f585b54480402b5386ec640066e841f39a9dd7512f0736d967fa001541ebfc4a"},
        new Object[] {"POST", "/" + "seg/".repeat(75), "k=" + "v".repeat(200), large,
            "5e0346c60c1f4e98769b951ca82eedccafc34bd00114f2fc81fd798484a7383d"},
        new Object[] {"", "", null, new byte[0],
            "374708fff7719dd5979ec875d56cd2286f6d3cf7ec317a3b25632aab28ec37bb"});
  }
}
