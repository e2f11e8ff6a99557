package dev.once;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.spi.IdempotencyStore;
import org.junit.jupiter.api.Test;

class StoreUrlTest {
  @Test
  void memoryOpensANewMemoryStore() {
    try (IdempotencyStore store = IdempotencyStore.open("memory")) {
      assertThat(store).isInstanceOf(MemoryStore.class);
      store.ping();
    }
  }

  @Test
  void anUnknownSchemeIsRefusedWithOneLineNamingWhatIsAvailable() {
    assertThatThrownBy(() -> IdempotencyStore.open("mongodb://localhost"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("no store for \"mongodb\" URLs (available: memory")
        .hasMessageNotContaining("\n");
    assertThatThrownBy(() -> IdempotencyStore.open(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a store URL must not be empty; use \"memory\"");
  }
}
