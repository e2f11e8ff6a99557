package dev.once.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.spi.Claim;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.container.AsyncResponse;
import jakarta.ws.rs.container.Suspended;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
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
class OnceFeatureFailureTest extends AbstractRuntimeTest {
  /** The three shapes of resource method, as the paths under which each fails the same way. */
  private static final List<String> SHAPES = List.of("sync", "stage", "suspended");

  private final Failing failing = new Failing();

  @AfterEach
  void releaseTheResources() {
    failing.hangup.countDown();
    failing.executor.shutdownNow();
  }

  @OnEachRuntime(Released.class)
  void aFailureAnsweredWithAStatusThatIsNotStoredReleasesTheKeySoTheRetryRuns(Released failure,
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    for (String shape : SHAPES) {
      Tries tries = tryTwice("/" + failure.path + "/" + shape);

      assertThat(tries.first().statusCode()).as(shape).isEqualTo(failure.status);
      failure.assertFirstBody(tries.first(), tries.firstRun(), shape);
      assertThat(tries.retry().statusCode()).as(shape).isEqualTo(failure.status);
      assertThat(tries.retry().headers().firstValue("Idempotent-Replayed")).as(shape).isEmpty();
      assertThat(tries.runs()).as(shape + ": runs").isEqualTo(2);
      assertThat(store.peek(tries.key())).as(shape).isNull();
    }
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void anExceptionTheApplicationMapsToACacheableStatusIsStoredAndReplayed(
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime);
    for (String shape : SHAPES) {
      Tries tries = tryTwice("/already-paid/" + shape);
      HttpResponse<String> paid = tries.first();
      HttpResponse<String> retry = tries.retry();

      assertThat(paid.statusCode()).as(shape).isEqualTo(200);
      assertThat(paid.body()).as(shape).isEqualTo("{\"alreadyPaid\":" + tries.firstRun() + "}");
      assertThat(retry.body()).as(shape).isEqualTo(paid.body());
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).as(shape).hasValue("true");
      assertThat(retry.headers().firstValue("Content-Type")).as(shape)
          .hasValue("application/json");
      assertThat(tries.runs()).as(shape + ": runs").isEqualTo(1);
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
    server = runtime.start(OnceFeature.annotated(once), failing, new AnsweredMapper());
  }

  /**
   * Two tries of {@code path} with one new key: the answers, the run that answered the first, and
   * how many times the resources ran for the two.
   */
  private record Tries(String key, HttpResponse<String> first, HttpResponse<String> retry,
      int firstRun, int runs) {}

  private Tries tryTwice(String path) throws Exception {
    String key = newKey();
    int before = failing.runs.get();
    HttpResponse<String> first = CLIENT.send(request(path, key), BodyHandlers.ofString());
    HttpResponse<String> retry = CLIENT.send(request(path, key), BodyHandlers.ofString());
    return new Tries(key, first, retry, before + 1, failing.runs.get() - before);
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

  /**
   * The failures after which the key is released, so that the retry runs the resource again: the
   * resources that raise each (one per shape, under {@code /path/}) and the status both tries get.
   */
  enum Released {
    /** An exception the application maps to a status that is not stored: its mapper answers. */
    MAPPED_TO_A_NON_CACHEABLE_STATUS("declined", 402) {
      @Override
      void assertFirstBody(HttpResponse<String> first, int run, String shape) {
        assertThat(first.body()).as(shape).isEqualTo("{\"declined\":" + run + "}");
      }
    },
    /** A {@code WebApplicationException}: answered with its response. */
    WEB_APPLICATION_EXCEPTION("not-found", 404),
    /** An exception nobody maps: the runtime's 500. */
    MAPPED_BY_NOBODY("broken", 500);

    final String path;
    final int status;

    Released(String path, int status) {
      this.path = path;
      this.status = status;
    }

    /** Checks the first answer's body where the application writes it, not the runtime's pages. */
    void assertFirstBody(HttpResponse<String> first, int run, String shape) {}
  }

  /**
   * An exception of the application's, which its mapper answers with {@code status} and {@code
   * {"<name>":<run>}}: a card declined (402), or a payment made before (200, a success like any
   * other).
   */
  static final class Answered extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final int status;
    final String name;
    final int run;

    Answered(int status, String name, int run) {
      super(name, null, false, false);
      this.status = status;
      this.name = name;
      this.run = run;
    }
  }

  /** The application's mapper of its exceptions. */
  public static final class AnsweredMapper implements ExceptionMapper<Answered> {
    @Override
    public Response toResponse(Answered exception) {
      return Response.status(exception.status).type("application/json")
          .entity("{\"" + exception.name + "\":" + exception.run + "}").build();
    }
  }

  /**
   * Resources that fail, each way ({@code /declined/}, {@code /already-paid/}, {@code /not-found/},
   * {@code /broken/}) in the three shapes; each counts its runs.
   */
  @Path("/")
  public static final class Failing {
    final AtomicInteger runs = new AtomicInteger();
    final CountDownLatch started = new CountDownLatch(1);
    final CountDownLatch hangup = new CountDownLatch(1);
    final CountDownLatch resumed = new CountDownLatch(1);
    final ExecutorService executor = Executors.newCachedThreadPool();

    @POST
    @Path("{failure}/sync")
    @Idempotent
    public String sync(@PathParam("failure") String failure) {
      throw failure(failure);
    }

    @POST
    @Path("{failure}/stage")
    @Idempotent
    public CompletionStage<String> stage(@PathParam("failure") String failure) {
      RuntimeException thrown = failure(failure);
      return CompletableFuture.supplyAsync(() -> {
        throw thrown;
      }, CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS, executor));
    }

    @POST
    @Path("{failure}/suspended")
    @Idempotent
    public void suspended(@PathParam("failure") String failure,
        @Suspended AsyncResponse response) {
      RuntimeException thrown = failure(failure);
      CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS, executor)
          .execute(() -> response.resume(thrown));
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

    /** Counts a run, and makes the failure a path names. */
    private RuntimeException failure(String name) {
      int run = runs.incrementAndGet();
      return switch (name) {
        case "declined" -> new Answered(402, "declined", run);
        case "already-paid" -> new Answered(200, "alreadyPaid", run);
        case "not-found" -> new NotFoundException("no such account");
        case "broken" -> new IllegalStateException("the ledger is broken");
        default -> throw new IllegalArgumentException("no failure is named " + name);
      };
    }
  }
}
