package dev.once;

import static dev.once.testing.Refusals.refusalOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.IdempotencyStore;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class StoresTest {
  @Test
  void memoryOpensANewMemoryStoreWrittenAnyOfThreeWays() {
    for (String url : new String[] {"memory", " memory: ", "MEMORY://"}) {
      try (IdempotencyStore store = Stores.open(url)) {
        assertThat(store).as(url).isInstanceOf(MemoryStore.class);
        store.ping();
      }
    }
  }

  @Test
  void aMemoryStoresBoundsAreItsParameters() {
    try (IdempotencyStore store = Stores.open("memory?maximumRecords=1&maximumWeight=1MiB")) {
      store.claim("a", null, Duration.ofMinutes(1));

      assertThatThrownBy(() -> store.claim("b", null, Duration.ofMinutes(1)))
          .isInstanceOf(dev.once.spi.StoreFullException.class);
    }
  }

  @Test
  void aMemoryStoreRefusesWhatItCannotUseWithTheBuildersReason() {
    refusalOf(() -> Stores.open("memory?maximumRecords=0"))
        .isEqualTo("maximumRecords=0 in store URL memory?maximumRecords=0: maximumRecords must"
            + " be positive, but was 0");
    refusalOf(() -> Stores.open("memory?maxRecords=5"))
        .isEqualTo("unknown parameter \"maxRecords\" in store URL memory?maxRecords=5 (known:"
            + " maximumWeight, maximumRecords)");
    refusalOf(() -> Stores.open("memory://elsewhere"))
        .startsWith("a memory store is in this process");
  }

  @Test
  void anUnknownSchemeIsItsOwnExceptionNamingWhatIsAvailable() {
    assertThatThrownBy(() -> Stores.open("mongodb://user:s3cret@localhost"))
        .isInstanceOfSatisfying(UnknownStoreException.class, e -> {
          assertThat(e.scheme()).isEqualTo("mongodb");
          assertThat(e.available()).contains("memory");
        })
        .hasMessage("no store for \"mongodb\" URLs (available: memory; a store module on the"
            + " class path adds its schemes)")
        .hasMessageNotContaining("s3cret")
        .hasMessageNotContaining("\n");
  }

  @Test
  void anEmptyOrSchemelessUrlIsMalformedNotUnknown() {
    refusalOf(() -> Stores.open(" "))
        .isEqualTo("a store URL must not be empty; use \"memory\"");
    refusalOf(() -> Stores.open("://user:s3cret@host"))
        .startsWith("the store URL ://***@host has no scheme");
  }
}
