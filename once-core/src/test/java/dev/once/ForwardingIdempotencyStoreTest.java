package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ForwardingIdempotencyStoreTest {
  @Test
  void forwardsEveryInstanceMethodOfTheSpiSoNoDecoratorFallsBackToADefault() throws Exception {
    for (Method method : IdempotencyStore.class.getMethods()) {
      if (Modifier.isStatic(method.getModifiers())) {
        continue;
      }
      Method own = ForwardingIdempotencyStore.class.getDeclaredMethod(
          method.getName(), method.getParameterTypes());
      assertThat(own.getDeclaringClass()).as(method.getName())
          .isEqualTo(ForwardingIdempotencyStore.class);
    }
  }

  @Test
  void aDecoratorSeesTheDelegatesRecords() {
    try (MemoryStore memory = MemoryStore.create();
        IdempotencyStore forwarding = new ForwardingIdempotencyStore() {
          @Override
          protected IdempotencyStore delegate() {
            return memory;
          }
        }) {
      var token = forwarding.claim("k", null, java.time.Duration.ofMinutes(1)).token();
      forwarding.complete("k", token, StoredResponse.of(201, java.util.List.of(), new byte[0]),
          java.time.Duration.ofMinutes(1));

      assertThat(forwarding.peek("k").response().status()).isEqualTo(201);
      assertThat(memory.peek("k").response().status()).isEqualTo(201);
      assertThat(Arrays.asList(ForwardingIdempotencyStore.class.getDeclaredMethods()))
          .extracting(Method::getName).contains("peek", "awaitChange", "ping", "close");
    }
  }
}
