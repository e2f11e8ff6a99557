package dev.once;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.next;
import static dev.once.testing.Decisions.outcome;
import static dev.once.testing.Decisions.problem;
import static dev.once.testing.Decisions.rejected;
import static dev.once.testing.Decisions.replayed;
import static dev.once.testing.Responses.JSON;
import static dev.once.testing.Responses.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.StoredResponse.Header;
import dev.once.testing.Concurrently;
import dev.once.testing.FailingStore;
import dev.once.testing.FakeClock;
import dev.once.testing.RecordingListener;
import dev.once.testing.TestRequest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OnceTest {

  private final FakeClock clock = new FakeClock();
  private final MemoryStore store = MemoryStore.builder().clock(clock).build();
  private final RecordingListener listener = new RecordingListener();
  private final Once once = Once.builder(store).clock(clock).listener(listener).build();

  @AfterEach
  void close() {
    store.close();
  }

  /** The handler returned with this response: the exchange finishes, and this is what it did. */
  static Completion end(Exchange exchange, int status, List<Header> headers, byte[] body) {
    return exchange.handlerReturned(Exchange.Response.of(status, headers, body))
        .toCompletableFuture().join();
  }

  private static Completion completionOf(Exchange exchange) {
    return exchange.finished().toCompletableFuture().getNow(null);
  }

  private Decision runToCompletion(Once engine, TestRequest request, int status, String body)
      throws Exception {
    Decision decision = engine.decide(request);
    assertThat(decision).isInstanceOf(Decision.Execute.class);
    end(exchange(decision), status, JSON, utf8(body));
    return decision;
  }

  /** The decision, on a first request, of an engine so configured whose store fails every call. */
  private Decision decideWhileTheStoreFails(UnaryOperator<Once.Builder> configuration)
      throws Exception {
    FailingStore failing = new FailingStore(store);
    Once engine = configuration.apply(Once.builder(failing)).build();
    failing.failing(true);
    return engine.decide(TestRequest.post("k1"));
  }

  @Test
  void firstRequestWithAKeyExecutes() throws Exception {
    Decision decision = once.decide(TestRequest.post("k1").body("{\"amount\":100}"));

    assertThat(decision).isInstanceOf(Decision.Execute.class);
    assertThat(exchange(decision).key()).isEqualTo("k1");
  }

  @Test
  void retryAfterCompletionReplaysTheStoredResponse() throws Exception {
    runToCompletion(once, TestRequest.post("k1").body("{\"amount\":100}"), 201, "{\"id\":7}");

    Decision retry = once.decide(TestRequest.post("k1").body("{\"amount\":100}"));

    assertThat(retry).isInstanceOf(Decision.Replay.class);
    assertThat(replayed(retry).status()).isEqualTo(201);
    assertThat(replayed(retry).body()).isEqualTo(utf8("{\"id\":7}"));
    assertThat(replayed(retry).headers()).isEqualTo(JSON);
    assertThat(listener.outcomes).containsExactly(Outcome.EXECUTED, Outcome.REPLAYED);
    assertThat(listener.completions).containsExactly(Completion.STORED);
  }

  @Test
  void duplicateWhileTheFirstRunsGets409WithRetryAfter() throws Exception {
    once.decide(TestRequest.post("k1").body("a"));

    Decision duplicate = once.decide(TestRequest.post("k1").body("a"));

    assertThat(rejected(duplicate, 409, ProblemType.REQUEST_IN_PROGRESS).retryAfterSeconds())
        .isEqualTo(1);
    assertThat(outcome(duplicate)).isEqualTo(Outcome.CONFLICT);
  }

  @Test
  void retryWithADifferentBodyGets422() throws Exception {
    runToCompletion(once, TestRequest.post("k1").body("{\"amount\":100}"), 201, "{}");

    Decision retry = once.decide(TestRequest.post("k1").body("{\"amount\":999}"));

    rejected(retry, 422, ProblemType.KEY_REUSED);
    assertThat(outcome(retry)).isEqualTo(Outcome.MISMATCH);
  }

  @Test
  void duplicateWithADifferentBodyWhileTheFirstRunsGets422() throws Exception {
    once.decide(TestRequest.post("k1").body("a"));

    Decision duplicate = once.decide(TestRequest.post("k1").body("b"));

    assertThat(problem(duplicate).status()).isEqualTo(422);
  }

  @Test
  void theSameKeyOnAnotherPathOrQueryOrMethodGets422() throws Exception {
    runToCompletion(once, TestRequest.post("k1").body("a"), 200, "{}");

    assertThat(problem(once.decide(TestRequest.post("k1").path("/refunds").body("a"))).status())
        .isEqualTo(422);
    assertThat(problem(once.decide(TestRequest.post("k1").query("x=1").body("a"))).status())
        .isEqualTo(422);
    assertThat(problem(once.decide(TestRequest.post("k1").method("PATCH").body("a"))).status())
        .isEqualTo(422);
  }

  @Test
  void withoutTheHashCheckTheBodyIsNotReadAndAReusedKeyReplays() throws Exception {
    Once unchecked = Once.builder(store).requestHashCheck(false).build();
    TestRequest first = TestRequest.post("k1").body("a");
    runToCompletion(unchecked, first, 201, "{}");

    Decision retry = unchecked.decide(TestRequest.post("k1").body("b"));

    assertThat(retry).isInstanceOf(Decision.Replay.class);
    assertThat(first.bodyReads()).isZero();
  }

  @Test
  void aRequestWithoutAKeyPassesThroughByDefault() throws Exception {
    Decision decision = once.decide(TestRequest.post().body("a"));

    assertThat(decision).isInstanceOf(Decision.PassThrough.class);
    assertThat(outcome(decision)).isEqualTo(Outcome.PASSED_THROUGH);
  }

  @Test
  void aRequestWithoutAKeyGets400WhenTheKeyIsRequired() throws Exception {
    Once strict = Once.builder(store).requireKey(true).build();

    Decision decision = strict.decide(TestRequest.post().body("a"));

    rejected(decision, 400, ProblemType.KEY_MISSING);
    assertThat(outcome(decision)).isEqualTo(Outcome.REJECTED);
  }

  @Test
  void methodsNotCoveredPassThroughEvenWithAKeyOrWhenRequired() throws Exception {
    Once strict = Once.builder(store).requireKey(true).build();

    assertThat(strict.decide(TestRequest.post("k1").method("GET")))
        .isInstanceOf(Decision.PassThrough.class);
    assertThat(strict.decide(TestRequest.post().method("PUT")))
        .isInstanceOf(Decision.PassThrough.class);
  }

  @Test
  void configuredMethodsAreCovered() throws Exception {
    Once puts = Once.builder(store).methods("PUT").build();

    assertThat(puts.decide(TestRequest.post("k1").method("PUT")))
        .isInstanceOf(Decision.Execute.class);
    assertThat(puts.decide(TestRequest.post("k2"))).isInstanceOf(Decision.PassThrough.class);
  }

  @Test
  void aMalformedKeyGets400WithTheReason() throws Exception {
    Decision decision = once.decide(TestRequest.post("bad\u0001key"));

    rejected(decision, 400, ProblemType.KEY_INVALID);
    assertThat(problem(decision).detail()).contains("U+0001");
  }

  @Test
  void anEmptyOrTooLongKeyGets400() throws Exception {
    assertThat(problem(once.decide(TestRequest.post(""))).status()).isEqualTo(400);
    assertThat(problem(once.decide(TestRequest.post("x".repeat(256)))).status()).isEqualTo(400);
    assertThat(once.decide(TestRequest.post("x".repeat(255)))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aKeySentTwiceGets400() throws Exception {
    Decision decision =
        once.decide(TestRequest.post("k1").header("Idempotency-Key", "k2"));

    assertThat(problem(decision).status()).isEqualTo(400);
    assertThat(problem(decision).detail()).contains("sent 2 times");
  }

  @Test
  void theQuotedAndBareFormsOfAKeyAreTheSameKey() throws Exception {
    runToCompletion(once, TestRequest.post("\"k-1\"").body("a"), 201, "{}");

    assertThat(once.decide(TestRequest.post("k-1").body("a"))).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void aBodyOverTheLimitGets413AndTheHandlerDoesNotRun() throws Exception {
    Once small = Once.builder(store).maxBodyBytes(10).build();

    Decision decision = small.decide(TestRequest.post("k1").body("01234567890"));

    rejected(decision, 413, ProblemType.REQUEST_TOO_LARGE);
    assertThat(small.decide(TestRequest.post("k1").body("0123456789")))
        .isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aBodyThatDidNotArriveInTimeGets408AndTakesNoKeySoTheRetryRuns() throws Exception {
    Once timed = Once.builder(store).bodyTimeout(Duration.ofSeconds(3)).listener(listener).build();
    TestRequest sent = TestRequest.post("k1").body("a");
    OnceRequest slow = new OnceRequest() {
      @Override
      public String method() {
        return sent.method();
      }

      @Override
      public String path() {
        return sent.path();
      }

      @Override
      public String query() {
        return sent.query();
      }

      @Override
      public List<String> headers(String name) {
        return sent.headers(name);
      }

      @Override
      public String principal() {
        return null;
      }

      @Override
      public byte[] body(long maxBytes) {
        throw new RequestBodyTimeoutException(Duration.ofSeconds(3));
      }
    };

    Decision decision = timed.decide(slow);

    assertThat(rejected(decision, 408, ProblemType.BODY_TIMEOUT).detail())
        .isEqualTo("the request body did not arrive within 3"
        + " seconds; nothing was run and the Idempotency-Key was not taken, so the request may be"
        + " sent again");
    assertThat(listener.outcomes).containsExactly(Outcome.REJECTED);
    assertThat(timed.decide(TestRequest.post("k1").body("a"))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void theBodyIsReadOnlyForACoveredMethodWithOneWellFormedKeyAndTheHashChecked() {
    assertThat(once.readsBody(TestRequest.post("k1"))).isTrue();
    assertThat(once.readsBody(TestRequest.post("\"k1\"").method("post"))).isTrue();
    assertThat(once.readsBody(TestRequest.post())).isFalse();
    assertThat(once.readsBody(TestRequest.post("k1").method("GET"))).isFalse();
    assertThat(once.readsBody(TestRequest.post("k1").header("Idempotency-Key", "k2"))).isFalse();
    assertThat(once.readsBody(TestRequest.post(""))).isFalse();
    assertThat(once.readsBody(TestRequest.post("k\u00e9"))).isFalse();
    assertThat(once.readsBody(TestRequest.post("x".repeat(256)))).isFalse();
    assertThat(once.toBuilder().requestHashCheck(false).build().readsBody(TestRequest.post("k1")))
        .isFalse();
    assertThat(listener.outcomes).isEmpty();
  }

  @Test
  void aNonCacheableStatusReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    runToCompletion(once, TestRequest.post("k1").body("a"), 500, "{\"error\":1}");

    Decision retry = once.decide(TestRequest.post("k1").body("a"));

    assertThat(retry).isInstanceOf(Decision.Execute.class);
    assertThat(listener.completions).containsExactly(Completion.RELEASED_NOT_CACHEABLE);
  }

  @Test
  void configuredCacheableStatusesAreKept() throws Exception {
    Once keeps404 = Once.builder(store).cacheableStatuses(404).build();
    runToCompletion(keeps404, TestRequest.post("k1"), 404, "{}");
    runToCompletion(keeps404, TestRequest.post("k2"), 200, "{}");

    assertThat(keeps404.decide(TestRequest.post("k1"))).isInstanceOf(Decision.Replay.class);
    assertThat(keeps404.decide(TestRequest.post("k2"))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aHandlerFailureReleasesTheKeySoTheRetryRunsAgain() throws Exception {
    Decision first = once.decide(TestRequest.post("k1").body("a"));

    assertThat(exchange(first).failedBeforeCommit(new IllegalStateException("boom"))
        .toCompletableFuture().join()).isEqualTo(Completion.RELEASED_ON_FAILURE);

    assertThat(once.decide(TestRequest.post("k1").body("a"))).isInstanceOf(Decision.Execute.class);
    assertThat(listener.completions).containsExactly(Completion.RELEASED_ON_FAILURE);
  }

  @Test
  void onlyTheFirstFinishOfAnExchangeActs() throws Exception {
    Exchange exchange = exchange(once.decide(TestRequest.post("k1")));

    assertThat(end(exchange, 201, JSON, utf8("{}"))).isEqualTo(Completion.STORED);
    assertThat(exchange.failedBeforeCommit(null).toCompletableFuture().join())
        .isEqualTo(Completion.STORED);
    assertThat(end(exchange, 200, JSON, utf8("other"))).isEqualTo(Completion.STORED);

    assertThat(completionOf(exchange)).isEqualTo(Completion.STORED);
    assertThat(listener.completions).containsExactly(Completion.STORED);
    assertThat(replayed(once.decide(TestRequest.post("k1"))).status()).isEqualTo(201);
  }

  @Test
  void aResponseTooLargeToKeepIsNotRunAgainOnRetry() throws Exception {
    Decision first = once.decide(TestRequest.post("k1").body("a"));
    end(exchange(first), 201, JSON, null);

    Decision retry = once.decide(TestRequest.post("k1").body("a"));

    Problem problem = rejected(retry, 409, ProblemType.RESPONSE_NOT_REPLAYABLE);
    assertThat(problem.retryAfterSeconds()).isZero();
    assertThat(problem.detail()).contains("status 201");
    assertThat(outcome(retry)).isEqualTo(Outcome.NOT_REPLAYABLE);
    assertThat(listener.completions).containsExactly(Completion.STORED_NOT_REPLAYABLE);
  }

  @Test
  void hopByHopHeadersDateSetCookieAndContentLengthAreNotReplayed() throws Exception {
    Exchange exchange = exchange(once.decide(TestRequest.post("k1")));
    end(exchange, 201, List.of(
        new Header("Content-Type", "application/json"),
        new Header("Location", "/payments/1"),
        new Header("set-cookie", "session=secret"),
        new Header("Date", "Tue, 01 Dec 2026 00:00:00 GMT"),
        new Header("Content-Length", "2"),
        new Header("Transfer-Encoding", "chunked"),
        new Header("Connection", "keep-alive"),
        new Header("X-Request-Id", "r1")), utf8("{}"));

    StoredResponse replay = replayed(once.decide(TestRequest.post("k1")));

    assertThat(replay.headers()).extracting(Header::name)
        .containsExactly("Content-Type", "Location", "X-Request-Id");
  }

  @Test
  void excludedHeadersAddToThoseNeverKeptAndCannotLetCookiesOrCredentialsThrough()
      throws Exception {
    Once excluding = Once.builder(store).excludedHeaders("X-Request-Id").build();
    Exchange exchange = exchange(excluding.decide(TestRequest.post("k1")));
    end(exchange, 200, List.of(
        new Header("Set-Cookie", "a=b"), new Header("set-cookie2", "c=d"),
        new Header("Authorization", "Bearer secret"), new Header("Authentication-Info", "x"),
        new Header("Proxy-Authentication-Info", "y"), new Header("Cookie", "e=f"),
        new Header("Date", "Tue, 01 Dec 2026 00:00:00 GMT"),
        new Header("Idempotent-Replayed", "true"),
        new Header("X-Request-Id", "r1"), new Header("X-Kept", "yes")), utf8("{}"));

    assertThat(replayed(excluding.decide(TestRequest.post("k1"))).headers())
        .containsExactly(new Header("X-Kept", "yes"));
    assertThat(excluding.isReplayedHeader("SET-COOKIE")).isFalse();
    assertThat(excluding.isReplayedHeader("x-request-id")).isFalse();
  }

  @Test
  void aCompletedRecordExpiresAfterItsTtlAndTheKeyRunsAgain() throws Exception {
    Once shortTtl = Once.builder(store).ttl(Duration.ofMinutes(1)).build();
    runToCompletion(shortTtl, TestRequest.post("k1"), 201, "{}");

    clock.advance(Duration.ofSeconds(59));
    assertThat(shortTtl.decide(TestRequest.post("k1"))).isInstanceOf(Decision.Replay.class);

    clock.advance(Duration.ofSeconds(2));
    assertThat(shortTtl.decide(TestRequest.post("k1"))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void whenTheOwnerDiesTheNextRequestAfterTheLeaseRunsAndTheOldOwnerIsFenced() throws Exception {
    Once leased = Once.builder(store).lease(Duration.ofSeconds(10)).listener(listener).build();
    Exchange dead = exchange(leased.decide(TestRequest.post("k1")));

    clock.advance(Duration.ofSeconds(9));
    assertThat(outcome(leased.decide(TestRequest.post("k1")))).isEqualTo(Outcome.CONFLICT);

    clock.advance(Duration.ofSeconds(2));
    Exchange takeover = exchange(leased.decide(TestRequest.post("k1")));
    end(dead, 201, JSON, utf8("{\"from\":\"dead\"}"));
    end(takeover, 201, JSON, utf8("{\"from\":\"takeover\"}"));

    assertThat(replayed(leased.decide(TestRequest.post("k1"))).body())
        .isEqualTo(utf8("{\"from\":\"takeover\"}"));
    assertThat(completionOf(dead)).isEqualTo(Completion.LOST);
    assertThat(completionOf(takeover)).isEqualTo(Completion.STORED);
    assertThat(listener.ownershipLost).containsExactly("complete");
  }

  @Test
  void keysOfDifferentPrincipalsNeverMeet() throws Exception {
    runToCompletion(once, TestRequest.post("k1").principal("alice"), 201, "{\"for\":\"alice\"}");

    Decision bob = once.decide(TestRequest.post("k1").principal("bob"));
    Decision anonymous = once.decide(TestRequest.post("k1"));

    assertThat(bob).isInstanceOf(Decision.Execute.class);
    assertThat(anonymous).isInstanceOf(Decision.Execute.class);
    assertThat(exchange(bob).key()).isNotEqualTo(exchange(anonymous).key());
  }

  @Test
  void aPrincipalNameCraftedToLookLikeAScopedKeyCannotReachAnotherRecord() throws Exception {
    runToCompletion(once, TestRequest.post("c").principal("a b"), 201, "{}");

    Decision crafted = once.decide(TestRequest.post("b c").principal("a"));
    Decision quoted = once.decide(TestRequest.post("\"b c\"").principal("a"));

    assertThat(problem(crafted).status()).isEqualTo(400);
    assertThat(problem(quoted).status()).isEqualTo(400);
    assertThat(once.decide(TestRequest.post("c").principal("a")))
        .isInstanceOf(Decision.Execute.class);
  }

  @Test
  void headerHashScopeSeparatesClientsAndStoresNoCredential() throws Exception {
    Once byAuth = Once.builder(store).keyScope(KeyScope.headerHash("Authorization")).build();
    Decision alice = byAuth.decide(TestRequest.post("k1").header("Authorization", "Bearer alice"));
    end(exchange(alice), 201, JSON, utf8("{}"));

    Decision aliceAgain =
        byAuth.decide(TestRequest.post("k1").header("Authorization", "Bearer alice"));
    Decision bob = byAuth.decide(TestRequest.post("k1").header("Authorization", "Bearer bob"));

    assertThat(aliceAgain).isInstanceOf(Decision.Replay.class);
    assertThat(bob).isInstanceOf(Decision.Execute.class);
    assertThat(exchange(alice).key()).doesNotContain("alice").endsWith(" k1");
  }

  @Test
  void aStoreFailureGives503AndTheHandlerDoesNotRun() throws Exception {
    Decision decision = decideWhileTheStoreFails(builder -> builder.listener(listener));

    rejected(decision, 503, ProblemType.STORE_UNAVAILABLE);
    assertThat(outcome(decision)).isEqualTo(Outcome.STORE_ERROR);
    assertThat(listener.storeErrors).containsExactly("claim");
  }

  @Test
  void aStoreFailureWithFailOpenRunsTheHandlerWithoutIdempotency() throws Exception {
    Decision decision = decideWhileTheStoreFails(builder -> builder.failOpen(true));

    assertThat(decision).isInstanceOf(Decision.PassThrough.class);
    assertThat(outcome(decision)).isEqualTo(Outcome.FAILED_OPEN);
  }

  @Test
  void aStoreThatFailsWhileCompletingReportsItAndTheRequestIsUnaffected() throws Exception {
    FailingStore failing = new FailingStore(store);
    Once engine = Once.builder(failing).listener(listener).build();
    Exchange exchange = exchange(engine.decide(TestRequest.post("k1")));
    failing.failing(true);

    assertThat(end(exchange, 201, JSON, utf8("{}"))).isEqualTo(Completion.STORE_FAILED);
    assertThat(listener.storeErrors).containsExactly("complete");
  }

  @Test
  void aStoreThatRecoversServesRequestsAgain() throws Exception {
    FailingStore failing = new FailingStore(store);
    Once engine = Once.builder(failing).build();
    failing.failing(true);
    assertThat(problem(engine.decide(TestRequest.post("k1"))).status()).isEqualTo(503);

    failing.failing(false);

    assertThat(engine.decide(TestRequest.post("k1"))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aListenerThatThrowsDoesNotChangeTheAnswer() throws Exception {
    Once engine = Once.builder(store).listener(new OnceListener() {
      @Override
      public void onOutcome(Outcome outcome, String key) {
        throw new IllegalStateException("broken listener");
      }
    }).build();

    assertThat(engine.decide(TestRequest.post("k1"))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void withMaxWaitADuplicateIsParkedAndGetsTheReplayWhenTheFirstFinishes() throws Exception {
    Once waiting = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    Exchange first = exchange(waiting.decide(TestRequest.post("k1")));

    Decision duplicate = waiting.decide(TestRequest.post("k1"));

    assertThat(duplicate).isInstanceOf(Decision.Wait.class);
    assertThat(next(duplicate).toCompletableFuture()).isNotDone();
    end(first, 201, JSON, utf8("{\"id\":1}"));
    Decision answer = next(duplicate).toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertThat(answer).isInstanceOf(Decision.Replay.class);
    assertThat(replayed(answer).body()).isEqualTo(utf8("{\"id\":1}"));
    assertThat(listener.outcomes).containsExactly(Outcome.EXECUTED, Outcome.REPLAYED);
  }

  @Test
  void aWaitingDuplicateOfAFailedRequestIsToldToSendItAgainAndNeverRunsBesideIt()
      throws Exception {
    Once waiting = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    Exchange first = exchange(waiting.decide(TestRequest.post("k1")));
    Decision duplicate = waiting.decide(TestRequest.post("k1"));

    first.failedBeforeCommit(new IllegalStateException("boom"));

    Decision answer = next(duplicate).toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertThat(problem(answer).status()).isEqualTo(409);
    assertThat(problem(answer).retryAfterSeconds()).isEqualTo(1);
    assertThat(problem(answer).detail()).contains("send it again");
    assertThat(waiting.decide(TestRequest.post("k1"))).isInstanceOf(Decision.Execute.class);
  }

  @Test
  void aWaitingDuplicateWithAChangedBodyGets422AtOnce() throws Exception {
    Once waiting = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    waiting.decide(TestRequest.post("k1").body("a"));

    Decision changed = waiting.decide(TestRequest.post("k1").body("b"));

    assertThat(problem(changed).status()).isEqualTo(422);
  }

  @Test
  void withMaxWaitADuplicateGets409WhenTheFirstOutlastsTheWait() throws Exception {
    MemoryStore realTime = MemoryStore.create();
    Once waiting = Once.builder(realTime).maxWait(Duration.ofMillis(50)).build();
    waiting.decide(TestRequest.post("k1"));

    Decision duplicate = waiting.decide(TestRequest.post("k1"));

    Decision answer = next(duplicate).toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertThat(problem(answer).status()).isEqualTo(409);
    assertThat(problem(answer).detail()).contains("still in progress");
    realTime.close();
  }

  @Test
  void preferWaitZeroAsksForNoWaitAndGets409AtOnce() throws Exception {
    Once waiting = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    waiting.decide(TestRequest.post("k1"));

    Decision duplicate = waiting.decide(TestRequest.post("k1").header("Prefer", "wait=0"));

    assertThat(duplicate).isInstanceOf(Decision.Reject.class);
    assertThat(problem(duplicate).status()).isEqualTo(409);
  }

  @Test
  void preferWaitShortensTheWaitButNeverLengthensIt() throws Exception {
    MemoryStore realTime = MemoryStore.create();
    Once waiting = Once.builder(realTime).maxWait(Duration.ofMillis(100)).build();
    Once noWait = Once.builder(realTime).build();
    waiting.decide(TestRequest.post("k1"));

    Decision longer = waiting.decide(TestRequest.post("k1").header("Prefer", "wait=3600"));
    Decision shorter = waiting.decide(
        TestRequest.post("k1").header("Prefer", "respond-async, WAIT=\"1\""));
    Decision unasked = noWait.decide(TestRequest.post("k1").header("Prefer", "wait=10"));

    assertThat(longer).isInstanceOf(Decision.Wait.class);
    assertThat(problem(next(longer).toCompletableFuture().get(20, TimeUnit.SECONDS)).status())
        .isEqualTo(409);
    assertThat(shorter).isInstanceOf(Decision.Wait.class);
    assertThat(unasked).isInstanceOf(Decision.Reject.class);
    realTime.close();
  }

  @Test
  void aStoreThatFailsWhileADuplicateWaitsGives503EvenWhenFailingOpen() throws Exception {
    FailingStore failing = new FailingStore(store);
    Once waiting = Once.builder(failing).clock(clock).failOpen(true)
        .maxWait(Duration.ofSeconds(30)).build();
    waiting.decide(TestRequest.post("k1"));
    Decision duplicate = waiting.decide(TestRequest.post("k1"));
    assertThat(duplicate).isInstanceOf(Decision.Wait.class);

    failing.failing(true);
    store.close(); // wakes the waiter, which looks again and finds the store failing

    Decision answer = next(duplicate).toCompletableFuture().get(20, TimeUnit.SECONDS);
    assertThat(problem(answer).status()).isEqualTo(503);
  }

  @Test
  void decideAsyncWaitsWithoutAThreadAndEndsInTheReplay() throws Exception {
    Once waiting = once.toBuilder().maxWait(Duration.ofSeconds(30)).build();
    Decision first = waiting.decideAsync(TestRequest.post("k1")).toCompletableFuture().join();
    CompletableFuture<Decision> duplicate =
        waiting.decideAsync(TestRequest.post("k1")).toCompletableFuture();

    assertThat(first).isInstanceOf(Decision.Execute.class);
    assertThat(duplicate).isNotDone();
    end(exchange(first), 201, JSON, utf8("{}"));
    assertThat(duplicate.get(20, TimeUnit.SECONDS)).isInstanceOf(Decision.Replay.class);
  }

  @Test
  void decideAsyncAnswersWhatDecideAnswers() throws Exception {
    runToCompletion(once, TestRequest.post("k1").body("a"), 201, "{}");

    assertThat(once.decideAsync(TestRequest.post("k1").body("a")).toCompletableFuture().join())
        .isInstanceOf(Decision.Replay.class);
    Decision changed = once.decideAsync(TestRequest.post("k1").body("b")).toCompletableFuture()
        .join();
    assertThat(problem(changed).status()).isEqualTo(422);
    assertThat(once.decideAsync(TestRequest.post("k9").method("GET")).toCompletableFuture().join())
        .isInstanceOf(Decision.PassThrough.class);
  }

  @Test
  void ofTwoHundredConcurrentRequestsWithOneKeyExactlyOneExecutes() throws Exception {
    AtomicInteger executed = new AtomicInteger();

    List<Decision> decisions = Concurrently.run(200, i -> {
      Decision decision = once.decide(TestRequest.post("k1").body("same"));
      if (decision instanceof Decision.Execute) {
        executed.incrementAndGet();
      }
      return decision;
    });

    assertThat(executed).hasValue(1);
    assertThat(decisions).filteredOn(d -> d instanceof Decision.Reject reject
        && reject.outcome() == Outcome.CONFLICT).hasSize(199);
  }

  @Test
  void ofTwoHundredConcurrentWaitingDuplicatesExactlyOneRunsAndTheRestReplayIt() throws Exception {
    MemoryStore realTime = MemoryStore.create();
    Once waiting = Once.builder(realTime).maxWait(Duration.ofSeconds(30)).build();
    AtomicInteger executed = new AtomicInteger();

    List<Decision> decisions = Concurrently.run(200, i -> {
      Decision decision = waiting.decide(TestRequest.post("k1").body("same"));
      if (decision instanceof Decision.Execute) {
        executed.incrementAndGet();
        Thread.sleep(100);
        end(exchange(decision), 201, JSON, utf8("{}"));
      }
      if (decision instanceof Decision.Wait) {
        decision = next(decision).toCompletableFuture().get(20, TimeUnit.SECONDS);
      }
      return decision;
    });

    assertThat(executed).hasValue(1);
    assertThat(decisions).filteredOn(Decision.Replay.class::isInstance).hasSize(199);
    realTime.close();
  }

  @Test
  void aMethodSpelledInAnyCaseIsCoveredAndIsTheSameRequest() throws Exception {
    Once required = once.toBuilder().requireKey(true).build();

    for (String method : List.of("post", "Post", "pOST", "patch")) {
      Decision missing = required.decide(TestRequest.post().method(method));
      assertThat(problem(missing).status()).as(method).isEqualTo(400);
    }
    runToCompletion(once, TestRequest.post("k1").method("pOST").body("a"), 201, "{}");

    assertThat(once.decide(TestRequest.post("k1").method("pOST").body("a")))
        .isInstanceOf(Decision.Replay.class);
    assertThat(once.decide(TestRequest.post("k1").method("POST").body("a")))
        .isInstanceOf(Decision.Replay.class);
    assertThat(problem(once.decide(TestRequest.post("k1").method("post").body("b"))).status())
        .isEqualTo(422);
  }
}
