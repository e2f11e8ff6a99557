package dev.once;

import static dev.once.testing.Responses.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.MessageDigest;
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
}
