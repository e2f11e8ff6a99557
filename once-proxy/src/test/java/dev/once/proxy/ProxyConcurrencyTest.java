package dev.once.proxy;

import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedOnNewConnection;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.ProblemType;
import dev.once.spi.IdempotencyStore;
import dev.once.testing.Concurrently;
import dev.once.testing.SlowCompletingStore;
import dev.once.testing.WaitCountingStore;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Many copies of one request at once, against a slow upstream. */
class ProxyConcurrencyTest {
  private static final int CLIENTS = 100;

  private final CountDownLatch release = new CountDownLatch(1);
  private Upstream upstream;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start().handle("/slow", Upstream.jsonAfter(release, 201))
        .handle("/fast", Upstream.json(201));
  }

  @AfterEach
  void stop() {
    release.countDown();
    upstream.close();
  }

  @Test
  void ofAHundredConcurrentDuplicatesExactlyOneReachesTheUpstreamAndTheOthersGet409()
      throws Exception {
    AtomicInteger answered = new AtomicInteger();
    String key = newKey();
    try (TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
      List<HttpResponse<String>> responses = Concurrently.run(CLIENTS, i -> {
        HttpResponse<String> response = postKeyed(proxy.uri("/slow"), key, "{\"amount\":1}");
        // the upstream answers only once every duplicate has been answered
        if (response.statusCode() == 409 && answered.incrementAndGet() == CLIENTS - 1) {
          release.countDown();
        }
        return response;
      });

      assertThat(upstream.hits("/slow")).isEqualTo(1);
      assertThat(responses).filteredOn(r -> r.statusCode() == 201).hasSize(1)
          .allSatisfy(r -> assertThat(r.body()).isEqualTo("{\"run\":1}"));
      assertThat(responses).filteredOn(r -> r.statusCode() == 409).hasSize(CLIENTS - 1)
          .allSatisfy(r -> assertThat(r.body()).contains(ProblemType.REQUEST_IN_PROGRESS.uri()));
    }
  }

  @Test
  void aRetrySentOnANewConnectionTheMomentTheAnswerArrivedIsReplayedEvenWhenTheStoreIsSlow()
      throws Exception {
    // keeping a response takes this store 200 ms: the client must not see the answer's end first
    IdempotencyStore memory = MemoryStore.create();
    IdempotencyStore slow = new SlowCompletingStore(memory, Duration.ofMillis(200));
    try (memory; TestProxy proxy = TestProxy.start(slow, "--upstream", upstream.uri().toString())) {
      for (int i = 0; i < 5; i++) {
        String key = newKey();
        HttpResponse<String> first = postKeyed(proxy.uri("/fast"), key, "{\"amount\":1}");

        HttpResponse<String> retry =
            postKeyedOnNewConnection(proxy.uri("/fast"), key, "{\"amount\":1}");

        assertThat(first.statusCode()).isEqualTo(201);
        assertReplayed(retry, 201, first.body());
      }
      assertThat(upstream.hits("/fast")).isEqualTo(5);
    }
  }

  /**
   * Hundreds of duplicates parked on one slow request hold no thread: a request for something else
   * is answered while they wait, and every one of them gets the one answer.
   */
  @Test
  void withMaxWaitHundredsOfDuplicatesWaitWithoutStarvingOtherRequestsAndAllGetTheOneAnswer()
      throws Exception {
    int clients = 300;
    WaitCountingStore store = new WaitCountingStore(MemoryStore.create());
    String key = newKey();
    AtomicReference<HttpResponse<String>> unrelated = new AtomicReference<>();
    try (TestProxy proxy = TestProxy.start(store, "--upstream", upstream.uri().toString(),
        "--max-wait", "60s")) {
      Thread releaser = new Thread(() -> {
        // once the duplicates are parked: another request, then the upstream answers
        if (store.awaitWaits(clients - 1)) {
          try {
            unrelated.set(postKeyed(proxy.uri("/fast"), newKey(), "{\"amount\":2}"));
          } catch (Exception e) {
            throw new AssertionError(e);
          } finally {
            release.countDown();
          }
        }
      });
      releaser.start();
      List<HttpResponse<String>> responses;
      try {
        responses = Concurrently.run(clients,
            i -> postKeyed(proxy.uri("/slow"), key, "{\"amount\":1}"));
      } finally {
        releaser.join(60_000);
      }

      assertThat(unrelated.get()).as("answered while the duplicates waited").isNotNull();
      assertThat(unrelated.get().statusCode()).isEqualTo(201);
      assertThat(upstream.hits("/slow")).isEqualTo(1);
      assertThat(responses).allSatisfy(r -> {
        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(r.body()).isEqualTo("{\"run\":1}");
      });
      assertThat(responses)
          .filteredOn(r -> r.headers().firstValue("Idempotent-Replayed").isPresent())
          .hasSize(clients - 1);
    } finally {
      store.close();
    }
  }

  @Test
  void ofManyKeysSentManyTimesEachAtOnceEachKeyReachesTheUpstreamOnce() throws Exception {
    int keys = 40;
    int copies = 5;
    List<String> keyList = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      keyList.add(newKey());
    }
    AtomicInteger refused = new AtomicInteger();
    try (TestProxy proxy = TestProxy.start("--upstream", upstream.uri().toString())) {
      List<HttpResponse<String>> responses = Concurrently.run(keys * copies, i -> {
        HttpResponse<String> response = postKeyed(proxy.uri("/slow"), keyList.get(i % keys),
            "{\"amount\":" + (i % keys) + "}");
        // the upstream answers only once every duplicate has been refused
        if (response.statusCode() == 409
            && refused.incrementAndGet() == keys * (copies - 1)) {
          release.countDown();
        }
        return response;
      });

      assertThat(upstream.hits("/slow")).isEqualTo(keys);
      assertThat(responses).filteredOn(r -> r.statusCode() == 201).hasSize(keys);
      assertThat(responses).filteredOn(r -> r.statusCode() == 409).hasSize(keys * (copies - 1));
    }
  }
}
