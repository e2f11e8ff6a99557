package dev.once.testing;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Stored responses and fingerprints made from fuzzer input, for the fuzz targets of the stores'
 * record codecs: every kind (replayable, kept without its body, outcome unknown), any status a
 * response may have, any header text and any body.
 */
public final class FuzzedResponses {
  private FuzzedResponses() {}

  /** @return a response of any kind; takes the body from what remains of {@code data} */
  public static StoredResponse response(FuzzedDataProvider data) {
    int kind = data.consumeInt(0, 2);
    if (kind == 2) {
      return StoredResponse.outcomeUnknown();
    }
    int status = data.consumeInt(100, 599);
    List<Header> headers = new ArrayList<>();
    for (int i = data.consumeInt(0, 6); i > 0; i--) {
      headers.add(new Header(data.consumeString(40), data.consumeString(200)));
    }
    return kind == 0
        ? StoredResponse.of(status, headers, data.consumeRemainingAsBytes())
        : StoredResponse.notReplayable(status, headers);
  }

  /** @return a fingerprint, or null (a record made without one) */
  public static Fingerprint fingerprint(FuzzedDataProvider data) {
    return data.consumeBoolean()
        ? Fingerprint.fromBytes(Arrays.copyOf(data.consumeBytes(Fingerprint.LENGTH),
            Fingerprint.LENGTH))
        : null;
  }

  /**
   * What a store that keeps text as UTF-8 gives back for {@code response}: the same, but for a
   * surrogate without its pair (a {@code String} may hold one, UTF-8 cannot), which becomes
   * {@code ?}, as it does when a container writes the header.
   */
  public static StoredResponse asUtf8(StoredResponse response) {
    if (response.isOutcomeUnknown()) {
      return response;
    }
    List<Header> headers = new ArrayList<>();
    for (Header header : response.headers()) {
      headers.add(new Header(utf8(header.name()), utf8(header.value())));
    }
    return response.isReplayable()
        ? StoredResponse.of(response.status(), headers, response.body())
        : StoredResponse.notReplayable(response.status(), headers);
  }

  private static String utf8(String text) {
    return new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
  }
}
