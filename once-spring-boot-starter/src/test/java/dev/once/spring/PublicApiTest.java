package dev.once.spring;

import dev.once.testing.PublicApi;
import org.junit.jupiter.api.Test;

/** The module's public API is the one recorded in its api.txt: see {@link PublicApi}. */
class PublicApiTest {
  @Test
  void thePublicApiIsTheRecordedOne() {
    PublicApi.assertMatchesRecord();
  }
}
