package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The C test "extended" expects once_fingerprint to give this value for this request: the one the
 * Java OnceFilter computes, so C and Java services sharing a store agree on what a retry is.
 */
class FingerprintAgreementTest {
  @Test
  void theFingerprintTheCTestExpectsIsTheOneJavaComputes() {
    Fingerprint fingerprint = Fingerprint.of("POST", "/payments", null,
        "{\"amount\":100}".getBytes(StandardCharsets.UTF_8));

    assertThat(fingerprint.toString())
        .isEqualTo("2bb3673c838a92cce5106084c29aa2dd5f99b693e3a166d1e366c482142dfb96");
  }
}
