package dev.once.redis;

import static dev.once.suite.Http.isReplay;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedUntilNot409;
import static dev.once.suite.Http.postKeyedWhile;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.StoredResponse;
import dev.once.servlet.OnceFilter;
import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.suite.JettyServer;
import dev.once.suite.RunningServer;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A service behind {@code OnceFilter} on a store opened with {@code redis-sentinel://}, whose
 * primary is killed with {@code kill -9} while requests hold keys and completed records exist; the
 * sentinels promote the replica, and the retries that follow are counted. With {@code replicas=1}
 * nothing the store reported written is lost; without it, what the primary wrote after its replica
 * fell behind is, and those keys run twice (the contrast docs/REDIS.md quotes). A replica "falls
 * behind" deterministically: it is frozen and cut off the primary ({@link
 * TestSentinels#cutReplica}) before the late writes, the way a partition would.
 *
 * <p>Each test takes 7 to 30 seconds (a group started, a failover, the killed node back as a
 * replica). The build runs the first two; the ones tagged {@code ha} (the contrast, steady load,
 * a waiter) run with {@code make ha-test}, which runs them all.
 */
class SentinelFailoverTest {
  private static final Duration FAILOVER = Duration.ofSeconds(60);
  private static final String DURABLE = "&replicas=1&replicaTimeout=500ms";

  /** How many times the handler ran, per key. */
  private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
  /** Holds the handler of every key that starts with "held" until opened. */
  private final CountDownLatch gate = new CountDownLatch(1);
  private final ExecutorService clients = Executors.newCachedThreadPool();
  private TestSentinels sentinels;
  private RedisStore store;
  private RunningServer server;

  @BeforeEach
  void startSentinels() {
    sentinels = TestSentinels.start();
  }

  @AfterEach
  void stopEverything() throws Exception {
    gate.countDown();
    clients.shutdownNow();
    if (server != null) {
      server.close();
    }
    if (store != null) {
      store.close();
    }
    sentinels.close();
  }

  private void startService(String parameters, UnaryOperator<Once.Builder> options)
      throws Exception {
    store = RedisStore.open(sentinels.url() + "&commandTimeout=10s" + parameters);
    server = JettyServer.start(new OnceFilter(options.apply(Once.builder(store)).build()),
        Map.of("/*", this::pay));
  }

  private void pay(HttpServletRequest request, HttpServletResponse response) throws Exception {
    String key = request.getHeader("Idempotency-Key");
    int run = runs.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    if (key.startsWith("held")) {
      gate.await(60, TimeUnit.SECONDS);
    }
    response.setStatus(201);
    response.getOutputStream().write(("paid " + key + " run " + run)
        .getBytes(UTF_8));
  }

  private HttpResponse<String> pay(String key) throws Exception {
    return postKeyed(server.uri("/payments"), key, "{\"amount\":100}");
  }

  /** Sends the request until it is answered other than 503, for at most 30 seconds. */
  private HttpResponse<String> payOnceTheStoreIsBack(String key) throws Exception {
    return postKeyedWhile(503, server.uri("/payments"), key, "{\"amount\":100}");
  }

  private static List<String> keys(String name, int count) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      keys.add(name + "-" + i + "-" + UUID.randomUUID());
    }
    return keys;
  }

  private int ranTwice() {
    return (int) runs.values().stream().filter(count -> count.get() == 2).count();
  }

  /** What one round of {@link #killThePrimaryWithKeysHeldAndCompleted} did. */
  private record Round(List<String> done, List<String> held, List<String> lateDone,
      List<String> lateHeld, List<HttpResponse<String>> lateAnswers) {}

  /**
   * Completes 20 keys and holds 10 with the replica in step; cuts the replica off; completes 10
   * more and holds 5 more (or tries to); kills the primary, lets the sentinels promote the replica,
   * and restarts the killed node empty as the new primary's replica. The held requests are still
   * running when this returns.
   */
  private Round killThePrimaryWithKeysHeldAndCompleted() throws Exception {
    List<String> done = keys("done", 20);
    for (String key : done) {
      assertThat(pay(key).statusCode()).isEqualTo(201);
    }
    List<String> held = keys("held", 10);
    for (String key : held) {
      clients.submit(() -> pay(key));
    }
    while (!held.stream().allMatch(runs::containsKey)) {
      TestRedis.sleep(10);
    }
    // everything so far is on the replica, with the option or without it
    assertThat(sentinels.primary().waitForReplication(1, 10_000)).isEqualTo(1L);

    sentinels.cutReplica();
    List<String> lateDone = keys("late", 10);
    List<HttpResponse<String>> lateAnswers = new ArrayList<>();
    for (String key : lateDone) {
      lateAnswers.add(pay(key));
    }
    List<String> lateHeld = keys("held-late", 5);
    List<Future<HttpResponse<String>>> lateHolders = new ArrayList<>();
    for (String key : lateHeld) {
      lateHolders.add(clients.submit(() -> pay(key)));
    }
    // each either runs (and is held) or is answered at once
    for (int i = 0; i < lateHeld.size(); i++) {
      while (!runs.containsKey(lateHeld.get(i)) && !lateHolders.get(i).isDone()) {
        TestRedis.sleep(10);
      }
      if (lateHolders.get(i).isDone()) {
        lateAnswers.add(lateHolders.get(i).get());
      }
    }

    sentinels.killPrimary();
    sentinels.thawReplica();
    Duration failover = sentinels.awaitFailover(FAILOVER);
    sentinels.restartKilledAsReplica();
    System.out.println("SentinelFailoverTest: the sentinels promoted the replica " + failover
        .toMillis() + " ms after the kill");
    return new Round(done, held, lateDone, lateHeld, lateAnswers);
  }

  /** Retries every key of the round, the held ones after their first requests finished. */
  private void retryEveryKey(Round round, boolean heldKeysLost) throws Exception {
    for (String key : round.done()) {
      HttpResponse<String> retry = payOnceTheStoreIsBack(key);
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(isReplay(retry)).isTrue();
      assertThat(retry.body()).isEqualTo("paid " + key + " run 1");
    }
    for (String key : round.held()) {
      assertThat(payOnceTheStoreIsBack(key).statusCode()).as("still held: " + key).isEqualTo(409);
    }
    for (String key : round.lateDone()) {
      assertThat(payOnceTheStoreIsBack(key).statusCode()).isEqualTo(201);
    }
    gate.countDown();
    for (String key : round.held()) {
      HttpResponse<String> retry = postKeyedUntilNot409(
          server.uri("/payments"), key, "{\"amount\":100}");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(isReplay(retry)).isTrue();
      assertThat(retry.body()).isEqualTo("paid " + key + " run 1");
    }
    for (String key : round.lateHeld()) {
      HttpResponse<String> retry = payOnceTheStoreIsBack(key);
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.body()).endsWith(heldKeysLost ? " run 2" : " run 1");
    }
  }

  @Test
  void theSentinelsPromoteTheReplicaWithWhatItHadWhenThePrimaryIsKilled() {
    sentinels.primary().set("before", "kept");
    assertThat(sentinels.primary().waitForReplication(1, 10_000)).isEqualTo(1L);
    sentinels.killPrimary();
    sentinels.awaitFailover(FAILOVER);
    assertThat(sentinels.primary().get("before")).isEqualTo("kept");
    assertThat(sentinels.primary().info("replication")).contains("role:master");
  }

  // in make ha-test only: under the load of a whole build, a sentinel once made the promoted node a
  // replica of the killed one restarted empty (CI, 2026-12-04), which TestSentinels must rule out
  // before this runs in every build
  @Test
  @Tag("ha")
  void withReplicasEveryKeyHeldOrCompletedBeforeTheKillIsStillHeldOrReplayedAfterIt()
      throws Exception {
    startService(DURABLE, builder -> builder);

    Round round = killThePrimaryWithKeysHeldAndCompleted();

    // the replica acknowledged none of the late claims: none counted as acquired, none ran
    assertThat(round.lateAnswers()).hasSize(15).allSatisfy(answer -> {
      assertThat(answer.statusCode()).isEqualTo(503);
      assertThat(answer.body()).contains(ProblemType.STORE_UNAVAILABLE.uri());
    });
    assertThat(round.lateDone()).noneMatch(runs::containsKey);
    assertThat(round.lateHeld()).noneMatch(runs::containsKey);

    retryEveryKey(round, false);
    assertThat(runs).hasSize(20 + 10 + 10 + 5);
    assertThat(runs.values()).allSatisfy(count -> assertThat(count).hasValue(1));
    System.out.println("SentinelFailoverTest: with replicas=1, 0 of 45 keys ran twice");
  }

  @Test
  @Tag("ha")
  void withoutReplicasWhatThePrimaryWroteAfterItsReplicaFellBehindRunsAgain() throws Exception {
    startService("", builder -> builder);

    Round round = killThePrimaryWithKeysHeldAndCompleted();

    assertThat(round.lateAnswers()).hasSize(10)
        .allSatisfy(answer -> assertThat(answer.statusCode()).isEqualTo(201));
    retryEveryKey(round, true);
    // what the replica had is kept; what only the killed primary had is lost, and runs again
    assertThat(runs).hasSize(45);
    assertThat(ranTwice()).isEqualTo(10 + 5);
    System.out.println("SentinelFailoverTest: without replicas, " + ranTwice()
        + " of 45 keys ran twice (the 15 written after the replica fell behind)");
  }

  @Test
  @Tag("ha")
  void aFailoverUnderSteadyLoadAnswers503InTheGapRunsNothingTwiceAndRecoversWithoutARestart()
      throws Exception {
    // a claim applied but unanswered when the primary died holds its key until the lease passes
    startService(DURABLE, builder -> builder.lease(Duration.ofSeconds(3)));
    AtomicBoolean sending = new AtomicBoolean(true);
    AtomicInteger unavailable = new AtomicInteger();
    AtomicInteger finished = new AtomicInteger();
    List<Future<?>> senders = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      senders.add(clients.submit(() -> {
        // bounded: each sender stops after 2000 keys even if never told to
        for (int i = 0; sending.get() && i < 2_000; i++) {
          String key = "load-" + UUID.randomUUID();
          HttpResponse<String> answer = sendUntilAnswered(key, unavailable);
          assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
          finished.incrementAndGet();
        }
        return null;
      }));
    }
    awaitFinished(finished, 200);

    sentinels.killPrimary();
    Duration failover = sentinels.awaitFailover(FAILOVER);
    sentinels.restartKilledAsReplica();
    int beforeRecovery = finished.get();
    awaitFinished(finished, beforeRecovery + 200);
    sending.set(false);
    for (Future<?> sender : senders) {
      sender.get(60, TimeUnit.SECONDS);
    }

    assertThat(unavailable.get()).isPositive();
    assertThat(runs).hasSize(finished.get());
    assertThat(runs.values()).allSatisfy(count -> assertThat(count).hasValue(1));
    System.out.println("SentinelFailoverTest: under load, " + finished.get() + " keys, "
        + unavailable.get() + " answers 503 in the gap, failover in " + failover.toMillis()
        + " ms, 0 keys ran twice");
  }

  /** Sends until answered other than 503 or 409 (a claim orphaned by the kill), at most 60 s. */
  private HttpResponse<String> sendUntilAnswered(String key, AtomicInteger unavailable)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      HttpResponse<String> answer;
      try {
        answer = pay(key);
      } catch (IOException e) {
        // JDK-8338569, as RedisFailureTest explains: the client lost an answer the server gave
        continue;
      }
      if (answer.statusCode() != 503 && answer.statusCode() != 409
          || System.nanoTime() > deadline) {
        return answer;
      }
      if (answer.statusCode() == 503) {
        unavailable.incrementAndGet();
      }
      TestRedis.sleep(20);
    }
  }

  private static void awaitFinished(AtomicInteger finished, int count) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (finished.get() < count && System.nanoTime() < deadline) {
      TestRedis.sleep(20);
    }
    assertThat(finished.get()).isGreaterThanOrEqualTo(count);
  }

  @Test
  @Tag("ha")
  void aWaiterOnThePromotedPrimaryWakesWhenTheOwnerCompletes() throws Exception {
    store = RedisStore.open(sentinels.url() + "&commandTimeout=10s" + DURABLE);
    try (RedisStore waiting = RedisStore.open(sentinels.url() + "&commandTimeout=10s")) {
      String key = "waited-" + UUID.randomUUID();
      Claim claim = store.claim(key, null, Duration.ofSeconds(60));
      assertThat(claim.state()).isEqualTo(Claim.State.ACQUIRED);
      Token token = claim.token();
      CompletableFuture<Void> before =
          waiting.awaitChangeAsync(key, Duration.ofSeconds(60)).toCompletableFuture();
      while (waiting.awaitedKeys() == 0) {
        TestRedis.sleep(10);
      }

      sentinels.killPrimary();
      sentinels.awaitFailover(FAILOVER);
      sentinels.restartKilledAsReplica();
      // woken to look again (the subscription made again on the promoted primary), or failed if
      // the kill came before its mark: either way it does not stay parked
      before.handle((woken, failed) -> null).get(30, TimeUnit.SECONDS);
      assertThat(untilAnswered(() -> waiting.claim(key, null, Duration.ofSeconds(60))).state())
          .isEqualTo(Claim.State.IN_PROGRESS);
      CompletableFuture<Void> after =
          waiting.awaitChangeAsync(key, Duration.ofSeconds(60)).toCompletableFuture();
      assertThat(after).isNotDone();

      StoredResponse paid = StoredResponse.of(201, List.of(), "paid".getBytes(UTF_8));
      assertThat(untilAnswered(() -> store.complete(key, token, paid, Duration.ofMinutes(1))))
          .isTrue();
      after.get(30, TimeUnit.SECONDS);
      assertThat(waiting.peek(key).state()).isEqualTo(Claim.State.COMPLETED);
    }
  }

  /** Runs the operation until the store answers it, for at most 30 seconds. */
  private static <T> T untilAnswered(Supplier<T> operation) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        return operation.get();
      } catch (StoreException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        TestRedis.sleep(100);
      }
    }
  }
}
