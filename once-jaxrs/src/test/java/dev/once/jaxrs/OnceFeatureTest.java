package dev.once.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.testing.Concurrently;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.container.AsyncResponse;
import jakarta.ws.rs.container.Suspended;
import jakarta.ws.rs.core.Response;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What only Jakarta REST has, on Jersey and on RESTEasy: {@link Idempotent} resources (and only
 * they) keyed by name binding, concurrent and waiting duplicates of one, the two async result
 * types on both runtimes, an entity-less response, and the parked-request resource. Failures are
 * {@link OnceFeatureFailureTest}'s, request bodies {@link OnceFeatureBodyTest}'s; the HTTP
 * behaviour every adapter shares is {@link OnceFeatureJerseySuiteTest}'s and {@link
 * OnceFeatureResteasySuiteTest}'s.
 */
class OnceFeatureTest extends AbstractRuntimeTest {
  private final Payments payments = new Payments();

  @AfterEach
  void releaseHeldRequests() {
    payments.hold.countDown();
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void anIdempotentResourceRunsOnceAndItsRetryIsReplayed(JaxrsServers.Runtime runtime)
      throws Exception {
    start(runtime, OnceFeature.annotated(Once.builder(store).build()));
    String key = newKey();

    HttpResponse<String> first = send("POST", "/annotated", key, "{\"amount\":1}");
    HttpResponse<String> retry = send("POST", "/annotated", key, "{\"amount\":1}");

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(retry.body()).isEqualTo(first.body()).isEqualTo("{\"run\":1}");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(payments.runs).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aResourceWithoutTheAnnotationIsUntouched(JaxrsServers.Runtime runtime) throws Exception {
    start(runtime, OnceFeature.annotated(Once.builder(store).build()));
    String key = newKey();

    send("POST", "/plain", key, "{}");
    HttpResponse<String> again = send("POST", "/plain", key, "{}");

    assertThat(again.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(payments.runs).hasValue(2);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void anIdempotentPutIsKeyedThoughTheEngineCoversOnlyPostAndPatch(JaxrsServers.Runtime runtime)
      throws Exception {
    start(runtime, OnceFeature.annotated(Once.builder(store).build()));
    String key = newKey();

    send("PUT", "/annotated", key, "{}");
    HttpResponse<String> retry = send("PUT", "/annotated", key, "{}");
    HttpResponse<String> post = send("POST", "/annotated", key, "{}");

    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertProblem(post, ProblemType.KEY_REUSED);
    assertThat(payments.runs).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void asyncResponseAndCompletionStageResultsAreStoredWhenTheyComplete(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime, OnceFeature.annotated(Once.builder(store).build()));
    String suspendedKey = newKey();
    String stageKey = newKey();

    HttpResponse<String> suspended = send("POST", "/suspended", suspendedKey, "");
    HttpResponse<String> suspendedRetry = send("POST", "/suspended", suspendedKey, "");
    HttpResponse<String> stage = send("POST", "/stage", stageKey, "");
    HttpResponse<String> stageRetry = send("POST", "/stage", stageKey, "");

    assertThat(suspended.statusCode()).isEqualTo(201);
    assertThat(suspendedRetry.body()).isEqualTo(suspended.body()).isEqualTo("later 1");
    assertThat(suspendedRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(stage.statusCode()).isEqualTo(200);
    assertThat(stageRetry.body()).isEqualTo(stage.body()).isEqualTo("stage 2");
    assertThat(stageRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(payments.runs).hasValue(2);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aResponseWithoutAnEntityIsStoredAndReplayed(JaxrsServers.Runtime runtime)
      throws Exception {
    start(runtime, OnceFeature.everyRequest(Once.builder(store).build()));
    String key = newKey();

    HttpResponse<String> first = send("POST", "/empty", key, "");
    HttpResponse<String> retry = send("POST", "/empty", key, "");

    assertThat(first.statusCode()).isEqualTo(204);
    assertThat(retry.statusCode()).isEqualTo(204);
    assertThat(retry.headers().firstValue("X-Run")).hasValue("1");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(payments.runs).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aDuplicateOfAnIdempotentResourceWaitsAndGetsTheReplay(JaxrsServers.Runtime runtime)
      throws Exception {
    start(runtime, OnceFeature.annotated(
        Once.builder(store).maxWait(Duration.ofSeconds(60)).build()));
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = sendAsync("/held", key);
    awaitAtLeast(payments.runs, 1);
    CompletableFuture<HttpResponse<String>> duplicate = sendAsync("/held", key);

    payments.hold.countDown();

    HttpResponse<String> replay = duplicate.get(30, TimeUnit.SECONDS);
    assertThat(first.get(30, TimeUnit.SECONDS).body()).isEqualTo("held 1");
    assertThat(replay.body()).isEqualTo("held 1");
    assertThat(payments.runs).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void ofTwoHundredConcurrentRequestsToAnIdempotentResourceWithOneKeyItRunsExactlyOnce(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime, OnceFeature.annotated(Once.builder(store).build()));
    String key = newKey();
    AtomicInteger conflicts = new AtomicInteger();

    // whichever request claims the key is held until the 199 others have been answered
    List<HttpResponse<String>> responses = Concurrently.run(200, i -> {
      HttpResponse<String> response = send("POST", "/held", key, "");
      if (response.statusCode() == 409 && conflicts.incrementAndGet() == 199) {
        payments.hold.countDown();
      }
      return response;
    });

    assertThat(payments.runs).hasValue(1);
    assertThat(responses).filteredOn(r -> r.statusCode() == 409).hasSize(199)
        .allSatisfy(r -> assertProblem(r, ProblemType.REQUEST_IN_PROGRESS));
    assertThat(responses).filteredOn(r -> r.statusCode() != 409).singleElement()
        .satisfies(r -> assertThat(r.body()).isEqualTo("held 1"));
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void fiftyWaitingDuplicatesOfAnIdempotentResourceAllGetTheReplayAndItRunsOnce(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime, OnceFeature.annotated(
        Once.builder(store).maxWait(Duration.ofSeconds(60)).build()));
    String key = newKey();
    CompletableFuture<HttpResponse<String>> first = sendAsync("/held", key);
    awaitAtLeast(payments.runs, 1);
    List<CompletableFuture<HttpResponse<String>>> duplicates = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      duplicates.add(sendAsync("/held", key));
    }

    payments.hold.countDown();

    assertThat(first.get(60, TimeUnit.SECONDS).body()).isEqualTo("held 1");
    for (CompletableFuture<HttpResponse<String>> duplicate : duplicates) {
      HttpResponse<String> answer = duplicate.get(60, TimeUnit.SECONDS);
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.body()).isEqualTo("held 1");
      assertThat(answer.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    }
    assertThat(payments.runs).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void theParkedRequestResourceAnswers404ToAnIdNobodyParked(JaxrsServers.Runtime runtime)
      throws Exception {
    start(runtime, OnceFeature.everyRequest(Once.builder(store).build()));

    HttpResponse<String> response = CLIENT.send(HttpRequest.newBuilder(
        server.uri("/once-parked-request/" + newKey())).GET().build(), BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(404);
  }

  private void start(JaxrsServers.Runtime runtime, OnceFeature feature) {
    server = runtime.start(feature, payments);
  }

  private HttpResponse<String> send(String method, String path, String key, String body)
      throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(server.uri(path))
        .method(method, BodyPublishers.ofString(body))
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", key)
        .timeout(Duration.ofSeconds(60))
        .build(), BodyHandlers.ofString());
  }

  private CompletableFuture<HttpResponse<String>> sendAsync(String path, String key) {
    URI uri = server.uri(path);
    return CLIENT.sendAsync(HttpRequest.newBuilder(uri)
        .POST(BodyPublishers.noBody())
        .header("Idempotency-Key", key)
        .timeout(Duration.ofSeconds(60))
        .build(), BodyHandlers.ofString());
  }

  private static void awaitAtLeast(AtomicInteger counter, int count) throws InterruptedException {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 6000 && counter.get() < count; i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(counter.get()).isGreaterThanOrEqualTo(count);
  }

  /** The resources: each counts its runs. */
  @Path("/")
  public static final class Payments {
    final AtomicInteger runs = new AtomicInteger();
    final CountDownLatch hold = new CountDownLatch(1);

    @POST
    @Path("annotated")
    @Idempotent
    @Produces("application/json")
    public String pay(String body) {
      return "{\"run\":" + runs.incrementAndGet() + "}";
    }

    @PUT
    @Path("annotated")
    @Idempotent
    @Produces("application/json")
    public String put(String body) {
      return "{\"put\":" + runs.incrementAndGet() + "}";
    }

    @POST
    @Path("plain")
    @Produces("application/json")
    public String plain(String body) {
      return "{\"plain\":" + runs.incrementAndGet() + "}";
    }

    @POST
    @Path("suspended")
    @Idempotent
    public void suspended(@Suspended AsyncResponse response) {
      int run = runs.incrementAndGet();
      CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS).execute(() ->
          response.resume(Response.status(201).type("text/plain").entity("later " + run).build()));
    }

    @POST
    @Path("stage")
    @Idempotent
    @Produces("text/plain")
    public CompletionStage<String> stage() {
      int run = runs.incrementAndGet();
      return CompletableFuture.supplyAsync(() -> "stage " + run,
          CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS));
    }

    @POST
    @Path("empty")
    public Response empty() {
      return Response.noContent().header("X-Run", runs.incrementAndGet()).build();
    }

    @POST
    @Path("held")
    @Idempotent
    @Produces("text/plain")
    public String held() throws InterruptedException {
      int run = runs.incrementAndGet();
      hold.await(60, TimeUnit.SECONDS);
      return "held " + run;
    }
  }
}
