package dev.once.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.spi.Claim;
import dev.once.suite.RunningServer;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.AsyncResponse;
import jakarta.ws.rs.container.Suspended;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What becomes of the key when an {@link Idempotent} resource fails, on Jersey and on RESTEasy,
 * for each shape of resource method (synchronous, {@code CompletionStage}, {@code AsyncResponse}):
 * an exception the application maps is answered by its mapper, and that response decides (a
 * cacheable status is stored, any other releases the key); a {@code WebApplicationException} is
 * answered with its response and releases the key; an exception nobody maps is the runtime's 500
 * and releases the key. And a client that hangs up on an {@code AsyncResponse} resource gets the
 * whole answer on its retry.
 */
class OnceFeatureFailureTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  /** The three shapes of resource method, as the paths under which each fails the same way. */
  private static final List<String> SHAPES = List.of("sync", "stage", "suspended");

  private final MemoryStore store = MemoryStore.create();
  private final Failing failing = new Failing();
  private RunningServer server;

  @AfterEach
  void stop() throws Exception {
    failing.hangup.countDown();
    if (server != null) {
      server.close();
    }
    failing.executor.shutdownNow();
    store.close();
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void anExceptionTheApplicationMapsToANonCacheableStatusReleasesTheKey(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    for (String shape : SHAPES) {
      String key = newKey();
      int before = failing.runs.get();

      HttpResponse<String> declined = post("/declined/" + shape, key);
      HttpResponse<String> retry = post("/declined/" + shape, key);

      assertThat(declined.statusCode()).as(shape).isEqualTo(402);
      assertThat(declined.body()).as(shape).isEqualTo("{\"declined\":" + (before + 1) + "}");
      assertThat(retry.statusCode()).as(shape).isEqualTo(402);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).as(shape).isEmpty();
      assertThat(failing.runs.get() - before).as(shape + ": runs").isEqualTo(2);
      assertThat(store.peek(key)).as(shape).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void anExceptionTheApplicationMapsToACacheableStatusIsStoredAndReplayed(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    for (String shape : SHAPES) {
      String key = newKey();
      int before = failing.runs.get();

      HttpResponse<String> paid = post("/already-paid/" + shape, key);
      HttpResponse<String> retry = post("/already-paid/" + shape, key);

      assertThat(paid.statusCode()).as(shape).isEqualTo(200);
      assertThat(paid.body()).as(shape).isEqualTo("{\"alreadyPaid\":" + (before + 1) + "}");
      assertThat(retry.body()).as(shape).isEqualTo(paid.body());
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).as(shape).hasValue("true");
      assertThat(retry.headers().firstValue("Content-Type")).as(shape)
          .hasValue("application/json");
      assertThat(failing.runs.get() - before).as(shape + ": runs").isEqualTo(1);
    }
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aWebApplicationExceptionIsAnsweredWithItsResponseAndReleasesTheKey(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    for (String shape : SHAPES) {
      String key = newKey();
      int before = failing.runs.get();

      HttpResponse<String> missing = post("/not-found/" + shape, key);
      HttpResponse<String> retry = post("/not-found/" + shape, key);

      assertThat(missing.statusCode()).as(shape).isEqualTo(404);
      assertThat(retry.statusCode()).as(shape).isEqualTo(404);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).as(shape).isEmpty();
      assertThat(failing.runs.get() - before).as(shape + ": runs").isEqualTo(2);
      assertThat(store.peek(key)).as(shape).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void anExceptionNobodyMapsIsAnswered500AndReleasesTheKeySoTheRetryRuns(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    for (String shape : SHAPES) {
      String key = newKey();
      int before = failing.runs.get();

      HttpResponse<String> broken = post("/broken/" + shape, key);
      HttpResponse<String> retry = post("/broken/" + shape, key);

      assertThat(broken.statusCode()).as(shape).isEqualTo(500);
      assertThat(retry.statusCode()).as(shape).isEqualTo(500);
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).as(shape).isEmpty();
      assertThat(failing.runs.get() - before).as(shape + ": runs").isEqualTo(2);
      assertThat(store.peek(key)).as(shape).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aClientThatHangsUpOnAnAsyncResponseResourceGetsTheWholeAnswerOnItsRetry(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    String key = newKey();
    int size = 256 * 1024;

    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.getOutputStream().write(("POST /hangup?size=" + size + " HTTP/1.1\r\n"
          + "Host: localhost\r\nIdempotency-Key: " + key + "\r\nContent-Length: 0\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      assertThat(failing.started.await(30, TimeUnit.SECONDS)).isTrue();
      socket.setSoLinger(true, 0); // a reset, as a client that vanished
    }
    failing.hangup.countDown();
    assertThat(failing.resumed.await(30, TimeUnit.SECONDS)).isTrue();
    awaitFinished(key);

    HttpResponse<byte[]> retry = CLIENT.send(request("/hangup?size=" + size, key),
        BodyHandlers.ofByteArray());
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(Failing.body(size));
    assertThat(failing.runs).hasValue(1);
  }

  private void start(JaxrsServers.Runtime runtime) {
    Once once = Once.builder(store).build();
    server = runtime.start(OnceFeature.annotated(once), failing, new Declined(),
        new AlreadyPaidMapper());
  }

  private HttpResponse<String> post(String path, String key) throws Exception {
    return CLIENT.send(request(path, key), BodyHandlers.ofString());
  }

  private HttpRequest request(String path, String key) {
    return HttpRequest.newBuilder(server.uri(path))
        .POST(BodyPublishers.noBody())
        .header("Idempotency-Key", key)
        .timeout(Duration.ofSeconds(60))
        .build();
  }

  /** Waits until the record of {@code key} is no longer in progress. */
  private void awaitFinished(String key) throws InterruptedException {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 3000 && isInProgress(key); i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(isInProgress(key)).as("the record of the hung-up request is finished").isFalse();
  }

  private boolean isInProgress(String key) {
    Claim record = store.peek(key);
    return record != null && record.state() == Claim.State.IN_PROGRESS;
  }

  private static String newKey() {
    return UUID.randomUUID().toString();
  }

  /** A card declined: the application answers it 402. */
  static final class PaymentDeclined extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int run;

    PaymentDeclined(int run) {
      super("declined", null, false, false);
      this.run = run;
    }
  }

  /** A payment made before: the application answers it 200, a success like any other. */
  static final class AlreadyPaid extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int run;

    AlreadyPaid(int run) {
      super("already paid", null, false, false);
      this.run = run;
    }
  }

  /** The application's mapper of a declined card. */
  public static final class Declined implements ExceptionMapper<PaymentDeclined> {
    @Override
    public Response toResponse(PaymentDeclined exception) {
      return Response.status(402).type("application/json")
          .entity("{\"declined\":" + exception.run + "}").build();
    }
  }

  /** The application's mapper of a payment made before. */
  public static final class AlreadyPaidMapper implements ExceptionMapper<AlreadyPaid> {
    @Override
    public Response toResponse(AlreadyPaid exception) {
      return Response.ok("{\"alreadyPaid\":" + exception.run + "}", "application/json").build();
    }
  }

  /** Resources that fail, each in the three shapes; each counts its runs. */
  @Path("/")
  public static final class Failing {
    final AtomicInteger runs = new AtomicInteger();
    final CountDownLatch started = new CountDownLatch(1);
    final CountDownLatch hangup = new CountDownLatch(1);
    final CountDownLatch resumed = new CountDownLatch(1);
    final ExecutorService executor = Executors.newCachedThreadPool();

    @POST
    @Path("declined/sync")
    @Idempotent
    public String declinedSync() {
      throw new PaymentDeclined(runs.incrementAndGet());
    }

    @POST
    @Path("declined/stage")
    @Idempotent
    public CompletionStage<String> declinedStage() {
      return later(new PaymentDeclined(runs.incrementAndGet()));
    }

    @POST
    @Path("declined/suspended")
    @Idempotent
    public void declinedSuspended(@Suspended AsyncResponse response) {
      resumeLater(response, new PaymentDeclined(runs.incrementAndGet()));
    }

    @POST
    @Path("already-paid/sync")
    @Idempotent
    public String alreadyPaidSync() {
      throw new AlreadyPaid(runs.incrementAndGet());
    }

    @POST
    @Path("already-paid/stage")
    @Idempotent
    public CompletionStage<String> alreadyPaidStage() {
      return later(new AlreadyPaid(runs.incrementAndGet()));
    }

    @POST
    @Path("already-paid/suspended")
    @Idempotent
    public void alreadyPaidSuspended(@Suspended AsyncResponse response) {
      resumeLater(response, new AlreadyPaid(runs.incrementAndGet()));
    }

    @POST
    @Path("not-found/sync")
    @Idempotent
    public String notFoundSync() {
      runs.incrementAndGet();
      throw new NotFoundException("no such account");
    }

    @POST
    @Path("not-found/stage")
    @Idempotent
    public CompletionStage<String> notFoundStage() {
      runs.incrementAndGet();
      return later(new NotFoundException("no such account"));
    }

    @POST
    @Path("not-found/suspended")
    @Idempotent
    public void notFoundSuspended(@Suspended AsyncResponse response) {
      runs.incrementAndGet();
      resumeLater(response, new NotFoundException("no such account"));
    }

    @POST
    @Path("broken/sync")
    @Idempotent
    public String brokenSync() {
      runs.incrementAndGet();
      throw new IllegalStateException("the ledger is broken");
    }

    @POST
    @Path("broken/stage")
    @Idempotent
    public CompletionStage<String> brokenStage() {
      runs.incrementAndGet();
      return later(new IllegalStateException("the ledger is broken"));
    }

    @POST
    @Path("broken/suspended")
    @Idempotent
    public void brokenSuspended(@Suspended AsyncResponse response) {
      runs.incrementAndGet();
      resumeLater(response, new IllegalStateException("the ledger is broken"));
    }

    /** Answers once the client has hung up: the whole answer is kept for its retry. */
    @POST
    @Path("hangup")
    @Idempotent
    @Produces("application/octet-stream")
    public void hangup(@QueryParam("size") int size,
        @Suspended AsyncResponse response) {
      runs.incrementAndGet();
      started.countDown();
      executor.execute(() -> {
        try {
          hangup.await(60, TimeUnit.SECONDS);
          response.resume(Response.status(201).entity(body(size)).build());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          resumed.countDown();
        }
      });
    }

    static byte[] body(int size) {
      byte[] body = new byte[size];
      Arrays.fill(body, (byte) 7);
      body[size - 1] = 42;
      return body;
    }

    private CompletionStage<String> later(RuntimeException failure) {
      return CompletableFuture.supplyAsync(() -> {
        throw failure;
      }, CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS, executor));
    }

    private void resumeLater(AsyncResponse response, RuntimeException failure) {
      CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS, executor)
          .execute(() -> response.resume(failure));
    }
  }
}
