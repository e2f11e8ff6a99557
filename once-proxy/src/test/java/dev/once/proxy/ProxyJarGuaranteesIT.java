package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.assertReplayed;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedUntilNot409;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.Closing;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the proxy guarantees under stress, on the packaged jar run as a process (issue 11): a
 * keyed request reaches the upstream at most once while its record lives, whatever its clients,
 * the upstream or the clock do. Each case counts the upstream's runs exactly; none asserts a
 * duration.
 */
class ProxyJarGuaranteesIT {
  @RegisterExtension final Closing closing = new Closing();
  private final CountDownLatch release = closing.latch();

  private Upstream upstream() throws Exception {
    Upstream upstream = Upstream.start();
    closing.add(upstream);
    return upstream;
  }

  private ProxyJar jar(Upstream upstream, String... flags) throws Exception {
    return jar(upstream.uri().toString(), flags);
  }

  private ProxyJar jar(String upstream, String... flags) throws Exception {
    ProxyJar jar = ProxyJar.listening(java.net.URI.create(upstream), flags);
    closing.first(jar);
    return jar;
  }

  /**
   * The first failure of the issue: 400 duplicates waiting on one slow request blocked a thread
   * each, the upstream's answer could not be read, the owner got 504 and the upstream ran twice.
   * Now they wait with no thread held: the upstream runs once, every duplicate gets the replay,
   * and a request for something else is answered while the owner is still at the upstream.
   */
  @Test
  void fourHundredDuplicatesOfASlowRequestRunItOnceAllGetTheReplayAndOthersAreAnsweredMeanwhile()
      throws Exception {
    int duplicates = 400;
    AtomicBoolean ownerHeldUntilOthersWereAnswered = new AtomicBoolean();
    Upstream upstream = upstream().handle("/payments", (exchange, run) -> {
      // held until the unrelated request was answered (or 8 s, short of the 10 s timeout)
      ownerHeldUntilOthersWereAnswered.set(release.await(8, TimeUnit.SECONDS));
      Upstream.respond(exchange, 201, "{\"run\":" + run + "}");
    }).handle("/other", Upstream.json(201));
    ProxyJar jar = jar(upstream, "--max-wait", "20s", "--upstream-timeout", "10s");
    String key = newKey();
    // its own client: a connection per request, as many clients would have
    HttpClient clients = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(30)).build();
    CountDownLatch sent = new CountDownLatch(duplicates);

    List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
    for (int i = 0; i < duplicates; i++) {
      HttpRequest request = HttpRequest.newBuilder(jar.uri("/payments"))
          .timeout(Duration.ofSeconds(60))
          .header("Idempotency-Key", key)
          .POST(new Signalling("{\"amount\":1}", sent))
          .build();
      responses.add(clients.sendAsync(request, BodyHandlers.ofString()));
    }
    assertThat(sent.await(60, TimeUnit.SECONDS)).as("every duplicate was sent").isTrue();
    for (int i = 0; i < 6000 && upstream.hits("/payments") == 0; i++) {
      Thread.sleep(10);
    }
    HttpResponse<String> other = postKeyed(jar.uri("/other"), newKey(), "{\"amount\":2}");
    release.countDown();
    CompletableFuture.allOf(responses.toArray(new CompletableFuture<?>[0]))
        .get(120, TimeUnit.SECONDS);

    assertThat(other.statusCode()).isEqualTo(201);
    assertThat(ownerHeldUntilOthersWereAnswered).as("the other request was answered while the"
        + " owner was still at the upstream").isTrue();
    assertThat(upstream.hits("/payments")).isEqualTo(1);
    List<HttpResponse<String>> all = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> response : responses) {
      all.add(response.join());
    }
    assertThat(all).allSatisfy(r -> {
      assertThat(r.statusCode()).isEqualTo(201);
      assertThat(r.body()).isEqualTo("{\"run\":1}");
    });
    assertThat(all).filteredOn(r -> r.headers().firstValue("Idempotent-Replayed").isEmpty())
        .hasSize(1);
  }

  /**
   * The second failure: a response that outlived the lease let a retry run again. The lease is
   * now renewed while the response streams.
   */
  @Test
  void aResponseStreamingPastSeveralLeasesRunsOnceAndRetriesMeanwhileGet409() throws Exception {
    int seconds = 6;
    Upstream upstream = upstream().handle("/payments", (exchange, run) -> {
      exchange.sendResponseHeaders(201, seconds);
      OutputStream out = exchange.getResponseBody();
      for (int i = 0; i < seconds; i++) {
        out.write('0' + i);
        out.flush();
        Thread.sleep(1000); // a byte a second: never silent for the upstream timeout
      }
    });
    ProxyJar jar = jar(upstream, "--lease", "2s", "--upstream-timeout", "2s");

    ProxyScenarios.aResponseStreamingPastLeasesRunsOnceAndRetriesMeanwhileGet409(
        jar.uri("/payments"), upstream, "012345");
  }

  /**
   * The third failure: a 504 released the key while the upstream was still working, and the
   * retry ran beside it. Now the key stays held, the retries get 409 (or wait), and the retry
   * after the late answer gets it replayed.
   */
  @Test
  void anUpstreamSlowerThanTheTimeoutGets504ThenRetriesGet409OrWaitAndTheLateAnswerIsReplayed()
      throws Exception {
    Upstream upstream = upstream().handle("/payments", Upstream.jsonAfter(release, 201));
    ProxyJar jar = jar(upstream, "--upstream-timeout", "2s", "--max-wait", "30s");
    String key = newKey();

    HttpResponse<String> first = postKeyed(jar.uri("/payments"), key, "{}");
    HttpResponse<String> refused = Http.send(Http.post(jar.uri("/payments"), key, "{}")
        .header("Prefer", "wait=0"));
    CompletableFuture<HttpResponse<String>> waiting = Http.CLIENT.sendAsync(
        Http.post(jar.uri("/payments"), key, "{}").build(), BodyHandlers.ofString());
    release.countDown();
    HttpResponse<String> waited = waiting.get(60, TimeUnit.SECONDS);
    HttpResponse<String> after = postKeyed(jar.uri("/payments"), key, "{}");

    assertProblem(first, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
    assertProblem(refused, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
    assertThat(waited.statusCode()).isEqualTo(201);
    assertThat(waited.body()).isEqualTo("{\"run\":1}");
    assertReplayed(after, 201, "{\"run\":1}");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  @Test
  void aClientThatHangsUpWhileTheUpstreamWorksGetsTheAnswerOnItsRetry() throws Exception {
    CountDownLatch midway = new CountDownLatch(1);
    Upstream upstream = upstream().handle("/before", Upstream.jsonAfter(release, 201))
        .handle("/during", (exchange, run) -> {
          exchange.sendResponseHeaders(201, 8);
          exchange.getResponseBody().write("half".getBytes(StandardCharsets.US_ASCII));
          exchange.getResponseBody().flush();
          midway.await(60, TimeUnit.SECONDS);
          exchange.getResponseBody().write("done".getBytes(StandardCharsets.US_ASCII));
        });
    ProxyJar jar = jar(upstream, "--max-wait", "30s");
    String before = newKey();
    String during = newKey();

    try (Socket client = ProxyKeyedCallTest.RawClient.post(jar.port(), "/before", before, "{}")) {
      for (int i = 0; i < 3000 && upstream.hits("/before") == 0; i++) {
        Thread.sleep(10);
      }
      ProxyKeyedCallTest.RawClient.hangUp(client);
    }
    release.countDown();
    try (Socket client = ProxyKeyedCallTest.RawClient.post(jar.port(), "/during", during, "{}")) {
      assertThat(ProxyKeyedCallTest.RawClient.readUntil(client.getInputStream(), "half"))
          .startsWith("HTTP/1.1 201");
      ProxyKeyedCallTest.RawClient.hangUp(client);
    }
    midway.countDown();
    HttpResponse<String> beforeRetry = postKeyed(jar.uri("/before"), before, "{}");
    HttpResponse<String> duringRetry = postKeyed(jar.uri("/during"), during, "{}");

    assertReplayed(beforeRetry, 201, "{\"run\":1}");
    assertReplayed(duringRetry, 201, "halfdone");
    assertThat(upstream.hits("/before")).isEqualTo(1);
    assertThat(upstream.hits("/during")).isEqualTo(1);
  }

  @Test
  void aConnectionBrokenAfterTheRequestWasSentHoldsTheKeyForTheLeaseThenARetryRuns()
      throws Exception {
    try (RawUpstream upstream = new RawUpstream(RawUpstream::reset)) {
      ProxyJar jar = jar(upstream.uri().toString(), "--lease", "3s");
      String key = newKey();

      HttpResponse<String> first = postKeyed(jar.uri("/payments"), key, "{}");
      HttpResponse<String> held = postKeyed(jar.uri("/payments"), key, "{}");
      int atUpstreamWhileHeld = upstream.requests();
      HttpResponse<String> later = postKeyedUntilNot409(jar.uri("/payments"), key, "{}");

      assertProblem(first, 502, ProblemType.OUTCOME_UNKNOWN.uri());
      assertProblem(held, 409, ProblemType.REQUEST_IN_PROGRESS.uri());
      assertThat(atUpstreamWhileHeld).isEqualTo(1);
      assertProblem(later, 502, ProblemType.OUTCOME_UNKNOWN.uri());
      assertThat(upstream.requests()).as("the retry after the lease ran").isEqualTo(2);
    }
  }

  @Test
  void withUnknownOutcomeKeepEveryRetryGets502AndTheRequestNeverRunsAgain() throws Exception {
    try (RawUpstream upstream = new RawUpstream(RawUpstream::reset)) {
      ProxyJar jar = jar(upstream.uri().toString(), "--unknown-outcome", "keep");
      String key = newKey();

      HttpResponse<String> first = postKeyed(jar.uri("/payments"), key, "{}");
      List<HttpResponse<String>> retries = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        retries.add(postKeyed(jar.uri("/payments"), key, "{}"));
      }

      assertProblem(first, 502, ProblemType.OUTCOME_UNKNOWN.uri());
      assertThat(first.body()).contains("it will not be run again");
      assertThat(retries).allSatisfy(
          r -> assertProblem(r, 502, ProblemType.OUTCOME_UNKNOWN.uri()));
      assertThat(upstream.requests()).isEqualTo(1);
    }
  }

  @Test
  void anUpstreamThatRefusedTheConnectionNeverHadTheRequestSoTheRetryRunsAtOnce()
      throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    ProxyJar jar = jar("http://127.0.0.1:" + port);
    String key = newKey();

    HttpResponse<String> refused = postKeyed(jar.uri("/payments"), key, "{}");
    try (Upstream back = Upstream.startOn(port).handle("/payments", Upstream.json(201))) {
      HttpResponse<String> retry = postKeyed(jar.uri("/payments"), key, "{}");

      assertProblem(refused, 502, UpstreamServlet.UPSTREAM_UNAVAILABLE);
      assertThat(refused.body()).contains("refused the connection");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.body()).isEqualTo("{\"run\":1}");
      assertThat(back.hits("/payments")).isEqualTo(1);
    }
  }

  @Test
  void noAnswerByTheDeadlineIsAnUnknownOutcomeAndALaterAnswerChangesNothing() throws Exception {
    Upstream upstream = upstream().handle("/payments", Upstream.jsonAfter(release, 201));
    ProxyJar jar = jar(upstream, "--upstream-timeout", "1s", "--upstream-deadline", "2s",
        "--unknown-outcome", "keep");

    ProxyScenarios.noAnswerByTheDeadlineIsAnUnknownOutcomeKept(jar.uri("/payments"), upstream,
        release);
  }

  /**
   * A proxy stopped past its lease (a long pause, as a stuck VM or a debugger makes) lost its key:
   * it says so in one line on standard error, without the client's key.
   */
  @Test
  void aProxyPausedPastItsLeaseSaysInOneLineThatARequestLostItsKey() throws Exception {
    Upstream upstream = upstream().handle("/payments", Upstream.jsonAfter(release, 201));
    ProxyJar jar = jar(upstream, "--lease", "300ms");
    String key = newKey();

    CompletableFuture<HttpResponse<String>> first = Http.CLIENT.sendAsync(
        Http.post(jar.uri("/payments"), key, "{}").build(), BodyHandlers.ofString());
    for (int i = 0; i < 3000 && upstream.hits("/payments") == 0; i++) {
      Thread.sleep(10);
    }
    jar.signal("STOP");
    try {
      Thread.sleep(1500); // five leases with the proxy stopped
    } finally {
      jar.signal("CONT");
    }
    release.countDown();
    HttpResponse<String> answered = first.get(60, TimeUnit.SECONDS);
    for (int i = 0; i < 3000 && jar.err().stream().noneMatch(l -> l.contains("lost its key"));
        i++) {
      Thread.sleep(10);
    }

    assertThat(answered.statusCode()).isEqualTo(201);
    // the renewal due while it was stopped, or the completion if the upstream's answer is handled
    // before the scheduler runs that renewal: whichever comes first after SIGCONT is refused
    assertThat(jar.err()).filteredOn(line -> line.contains("lost its key")).first().asString()
        .containsPattern(
            "store memory: a request lost its key \\((renew|complete) refused; 1 time");
    assertThat(String.join("\n", jar.err())).doesNotContain(key);
  }

  /** A request body that counts down when the client has handed all of it to the connection. */
  private static final class Signalling implements HttpRequest.BodyPublisher {
    private final HttpRequest.BodyPublisher body;
    private final CountDownLatch sent;

    Signalling(String body, CountDownLatch sent) {
      this.body = HttpRequest.BodyPublishers.ofString(body);
      this.sent = sent;
    }

    @Override
    public long contentLength() {
      return body.contentLength();
    }

    @Override
    public void subscribe(Flow.Subscriber<? super ByteBuffer> subscriber) {
      body.subscribe(new Flow.Subscriber<ByteBuffer>() {
        @Override
        public void onSubscribe(Flow.Subscription subscription) {
          subscriber.onSubscribe(subscription);
        }

        @Override
        public void onNext(ByteBuffer item) {
          subscriber.onNext(item);
        }

        @Override
        public void onError(Throwable throwable) {
          subscriber.onError(throwable);
        }

        @Override
        public void onComplete() {
          subscriber.onComplete();
          sent.countDown();
        }
      });
    }
  }
}
