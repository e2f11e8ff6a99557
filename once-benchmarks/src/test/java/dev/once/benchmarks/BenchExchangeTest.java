package dev.once.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.servlet.OnceFilter;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import jakarta.servlet.FilterChain;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The light request and response are faithful enough for OnceFilter to behave as in a server. */
class BenchExchangeTest {
  private final MemoryStore store = MemoryStore.create();
  private final OnceFilter filter = new OnceFilter(Once.builder(store).build());
  private final BenchExchange exchange = new BenchExchange();

  @AfterEach
  void closeStore() {
    store.close();
  }

  @Test
  void firstRequestRunsTheHandlerAndRetryIsReplayedWithTheSameBody() throws Exception {
    BenchResponse first = exchange.send(filter, CreatedHandler.INSTANCE, "k1", null);
    assertThat(first.getStatus()).isEqualTo(200);
    assertThat(first.getHeader(Once.REPLAYED_HEADER)).isNull();
    assertThat(first.bodyText()).isEqualTo("{\"status\":\"created\"}");

    BenchResponse retry = exchange.send(filter, CreatedHandler.INSTANCE, "k1", null);
    assertThat(retry.getStatus()).isEqualTo(200);
    assertThat(retry.getHeader(Once.REPLAYED_HEADER)).isEqualTo("true");
    assertThat(retry.getContentType()).isEqualTo("application/json");
    assertThat(retry.contentLength()).isEqualTo(Fixtures.CREATED_BODY.length);
    assertThat(retry.bodyText()).isEqualTo("{\"status\":\"created\"}");
  }

  @Test
  void requestWithoutKeyPassesThroughEveryTime() throws Exception {
    for (int i = 0; i < 3; i++) {
      BenchResponse response = exchange.send(filter, CreatedHandler.INSTANCE, null, null);
      assertThat(response.getStatus()).isEqualTo(200);
      assertThat(response.getHeader(Once.REPLAYED_HEADER)).isNull();
    }
    assertThat(store.size()).isZero();
  }

  @Test
  void retryWithAnotherBodyIsRefusedWith422() throws Exception {
    exchange.send(filter, CreatedHandler.INSTANCE, "k2", Fixtures.PAYMENT_BODY);
    BenchResponse changed = exchange.send(filter, CreatedHandler.INSTANCE, "k2",
        "{\"amount\":500}".getBytes(StandardCharsets.UTF_8));
    assertThat(changed.getStatus()).isEqualTo(422);
    assertThat(changed.getContentType()).isEqualTo("application/problem+json");
    assertThat(changed.bodyText()).contains("idempotency-key-reused");
  }

  @Test
  void aDuplicateThatWaitsIsParkedInAsyncModeAndGetsTheReplay() throws Exception {
    CountDownLatch claims = new CountDownLatch(2);
    IdempotencyStore counting = new ForwardingIdempotencyStore() {
      @Override
      protected IdempotencyStore delegate() {
        return store;
      }

      @Override
      public Claim claim(String key, Fingerprint fingerprint, Duration lease) {
        Claim claim = super.claim(key, fingerprint, lease);
        claims.countDown();
        return claim;
      }
    };
    OnceFilter waiting = new OnceFilter(
        Once.builder(counting).maxWait(Duration.ofSeconds(10)).build());
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    FilterChain slow = (request, response) -> {
      entered.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      CreatedHandler.INSTANCE.doFilter(request, response);
    };
    BenchExchange duplicate = new BenchExchange();
    ExecutorService clients = Executors.newFixedThreadPool(2);
    try {
      Future<BenchResponse> first =
          clients.submit(() -> exchange.send(waiting, slow, "k3", null));
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
      Future<BenchResponse> second =
          clients.submit(() -> duplicate.send(waiting, slow, "k3", null));
      assertThat(claims.await(10, TimeUnit.SECONDS)).as("the duplicate was decided").isTrue();
      release.countDown();

      assertThat(first.get(10, TimeUnit.SECONDS).getHeader(Once.REPLAYED_HEADER)).isNull();
      BenchResponse replay = second.get(10, TimeUnit.SECONDS);
      assertThat(replay.getStatus()).isEqualTo(200);
      assertThat(replay.getHeader(Once.REPLAYED_HEADER)).isEqualTo("true");
      assertThat(replay.bodyText()).isEqualTo("{\"status\":\"created\"}");
      assertThat(duplicate.request.getAsyncContext().isCompleted())
          .as("parked in an async cycle, since completed").isTrue();
    } finally {
      release.countDown();
      clients.shutdownNow();
    }
  }

  @Test
  void recycledResponseForgetsTheLastOne() throws Exception {
    BenchResponse response = new BenchResponse();
    response.setStatus(409);
    response.addHeader("Retry-After", "1");
    response.setContentType("application/problem+json");
    response.getOutputStream().write(1);
    response.recycle();
    assertThat(response.getStatus()).isEqualTo(200);
    assertThat(response.getHeaderNames()).isEmpty();
    assertThat(response.getContentType()).isNull();
    assertThat(response.bodyLength()).isZero();
  }

  @Test
  void responseHeadersKeepRepeatsAndSetReplacesAllOfAName() {
    BenchResponse response = new BenchResponse();
    response.addHeader("X-A", "1");
    response.addHeader("x-a", "2");
    response.addHeader("X-B", "3");
    assertThat(response.getHeaders("X-A")).containsExactly("1", "2");
    response.setHeader("X-A", "4");
    assertThat(response.getHeaders("x-a")).containsExactly("4");
    assertThat(response.getHeaderNames()).containsExactly("X-A", "X-B");
  }
}
