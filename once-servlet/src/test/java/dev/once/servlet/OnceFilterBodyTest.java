package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.ProblemType;
import dev.once.servlet.OnceFilter.BodyReading;
import dev.once.suite.Http;
import dev.once.suite.RunningServer;
import dev.once.testing.StartedClock;
import jakarta.servlet.AsyncContext;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * How the filter reads a keyed request's body before it claims the key, in a real container, run
 * once per container by {@link OnceFilterBodyJettyTest} and {@link OnceFilterBodyTomcatTest}: a
 * body that does not arrive within {@code bodyTimeout} gets 408 and takes no key, read blocking
 * (the default) or without blocking, and read without blocking a slow body holds no thread.
 */
abstract class OnceFilterBodyTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final MemoryStore store = MemoryStore.create();
  private final AtomicInteger runs = new AtomicInteger();
  private final List<AutoCloseable> closing = new ArrayList<>();

  /** @return the container this run of the suite uses */
  abstract TestServer.Container container();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
    store.close();
  }

  private RunningServer serve(Once once, BodyReading reading) throws Exception {
    return serve(once, reading, b -> b);
  }

  private RunningServer serve(Once once, BodyReading reading,
      java.util.function.UnaryOperator<TestServer.Builder> customize) throws Exception {
    RunningServer server = customize.apply(TestServer.with(once, container())
        .bodyReading(reading)
        .handle("/payments", (request, response) -> {
          int run = runs.incrementAndGet();
          byte[] body = request.getInputStream().readAllBytes();
          response.setStatus(201);
          response.setContentType("text/plain");
          response.getOutputStream().write(("run " + run + " read " + body.length + " bytes")
              .getBytes(StandardCharsets.UTF_8));
        })
        .handle("/form", (request, response) -> {
          runs.incrementAndGet();
          response.setContentType("text/plain;charset=UTF-8");
          response.getWriter().write("amount=" + request.getParameter("amount"));
        })
        .handle("/async", (request, response) -> {
          int run = runs.incrementAndGet();
          AsyncContext async = request.startAsync();
          CompletableFuture.runAsync(() -> {
            try {
              ((jakarta.servlet.http.HttpServletResponse) async.getResponse()).setStatus(201);
              async.getResponse().getWriter().write("async run " + run);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            } finally {
              async.complete();
            }
          });
        })
        .handle("/held", (request, response) -> {
          runs.incrementAndGet();
          new CountDownLatch(1).await(300, TimeUnit.MILLISECONDS);
          response.setStatus(201);
          response.getWriter().write("held done");
        }))
        .start();
    closing.add(0, server);
    return server;
  }

  private static String newKey() {
    return UUID.randomUUID().toString();
  }

  private static HttpResponse<String> post(RunningServer server, String path, String key,
      HttpRequest.BodyPublisher body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(server.uri(path))
        .timeout(Duration.ofSeconds(60))
        .POST(body);
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return CLIENT.send(request.build(), BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(RunningServer server, String path, String key,
      String body) throws Exception {
    return post(server, path, key, BodyPublishers.ofString(body));
  }

  /** A body the JDK client sends chunked: its length is not declared. */
  private static HttpRequest.BodyPublisher chunked(byte[] body) {
    Supplier<InputStream> stream = () -> new java.io.ByteArrayInputStream(body);
    return BodyPublishers.ofInputStream(stream);
  }

  /**
   * Opens a connection and sends a keyed POST that declares {@code Content-Length: 100} and then
   * only its first byte.
   */
  private static Socket slowPost(RunningServer server, String key) throws Exception {
    return Http.startPost(server.port(), key, 100);
  }

  /** @return everything the server sends on {@code socket} until it closes it */
  private static String answer(Socket socket) throws Exception {
    try (socket) {
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      socket.getInputStream().transferTo(answer);
      return answer.toString(StandardCharsets.ISO_8859_1);
    }
  }

  private static void assertTimedOut(String answer) {
    assertThat(answer).startsWith("HTTP/1.1 408 ")
        .containsIgnoringCase("Content-Type: application/problem+json")
        .containsIgnoringCase("Connection: close")
        .contains("\"type\":\"" + ProblemType.BODY_TIMEOUT.uri() + "\"")
        .contains("\"status\":408")
        .doesNotContain("Exception");
  }

  private static void awaitAtLeast(Supplier<Integer> counter, int count) throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    for (int i = 0; i < 6000 && counter.get() < count; i++) {
      never.await(10, TimeUnit.MILLISECONDS);
    }
    assertThat(counter.get()).isGreaterThanOrEqualTo(count);
  }

  @Test
  void readBlockingABodyStillArrivingPastBodyTimeoutGets408AndTakesNoKey() throws Exception {
    StartedClock clock = new StartedClock();
    Once once = Once.builder(store).clock(clock).bodyTimeout(Duration.ofSeconds(5)).build();
    // Tomcat drains the rest of a body before it closes the connection, within its idle timeout
    RunningServer server = serve(once, BodyReading.BLOCKING, b -> b.idleTimeout(5000));
    String key = newKey();

    Socket socket = slowPost(server, key);
    assertThat(clock.read.await(30, TimeUnit.SECONDS)).as("the filter started reading").isTrue();
    clock.advance(Duration.ofSeconds(6));
    socket.getOutputStream().write("\"a".getBytes(StandardCharsets.US_ASCII));
    socket.getOutputStream().flush();

    assertTimedOut(answer(socket));
    assertThat(runs).hasValue(0);
    HttpResponse<String> retry = post(server, "/payments", key, "{}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(1);
  }

  /**
   * Jetty lets the filter answer a read its idle timeout ended; Tomcat answers it itself ({@code
   * sendError(408)}, its error page), so there only the status is the filter's to check.
   */
  @Test
  void readBlockingABodyTheClientStopsSendingGets408WhenTheIdleTimeoutEndsTheRead()
      throws Exception {
    RunningServer server = serve(Once.builder(store).build(), BodyReading.BLOCKING,
        b -> b.idleTimeout(500));
    String key = newKey();

    String answer = answer(slowPost(server, key));

    assertThat(answer).startsWith("HTTP/1.1 408 ");
    if (container() == TestServer.Container.JETTY) {
      assertTimedOut(answer);
    }
    assertThat(runs).hasValue(0);
    assertThat(post(server, "/payments", key, "{}").statusCode()).isEqualTo(201);
  }

  /**
   * The attack on a container with 16 threads: 60 keyed requests that declare 100 bytes
   * and send one. Read without blocking they hold no thread (an unrelated keyed request is
   * answered while all of them are being read), each gets 408 when its deadline passes (the
   * test's scheduler fires the deadlines), and none took its key.
   */
  @Test
  void readWithoutBlockingSlowBodiesHoldNoThreadGet408AtTheDeadlineAndTakeNoKey()
      throws Exception {
    Duration timeout = Duration.ofSeconds(17);
    HeldDeadlines deadlines = new HeldDeadlines(timeout);
    closing.add(deadlines::shutdownNow);
    Once once = Once.builder(store).bodyTimeout(timeout).scheduler(deadlines).build();
    RunningServer server = serve(once, BodyReading.NON_BLOCKING, b -> b.maxThreads(16));
    int slow = 60;
    List<String> keys = new ArrayList<>();
    List<Socket> sockets = new ArrayList<>();
    for (int i = 0; i < slow; i++) {
      keys.add(newKey());
      sockets.add(slowPost(server, keys.get(i)));
    }
    awaitAtLeast(deadlines::count, slow);

    HttpResponse<String> unrelated = post(server, "/payments", newKey(), "{\"amount\":1}");

    assertThat(unrelated.statusCode()).isEqualTo(201);
    for (Socket socket : sockets) {
      assertThat(socket.getInputStream().available()).as("still waiting for its body").isZero();
    }
    assertThat(runs).hasValue(1);
    deadlines.passAll();
    for (Socket socket : sockets) {
      assertTimedOut(answer(socket));
    }
    assertThat(runs).hasValue(1);
    HttpResponse<String> retry = post(server, "/payments", keys.get(0), "{}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(2);
  }

  @Test
  void readWithoutBlockingASlowBodyGets408WhenBodyTimeoutPasses() throws Exception {
    Once once = Once.builder(store).bodyTimeout(Duration.ofMillis(300)).build();
    RunningServer server = serve(once, BodyReading.NON_BLOCKING);
    String key = newKey();

    assertTimedOut(answer(slowPost(server, key)));

    assertThat(runs).hasValue(0);
    assertThat(post(server, "/payments", key, "{}").statusCode()).isEqualTo(201);
  }

  @Test
  void readWithoutBlockingABodyIsFingerprintedWholeDeclaredOrChunkedAndServedToTheHandler()
      throws Exception {
    RunningServer server = serve(Once.builder(store).build(), BodyReading.NON_BLOCKING);
    byte[] large = new byte[300 * 1024];
    new java.util.Random(7).nextBytes(large);
    String declared = newKey();
    String chunkedKey = newKey();

    HttpResponse<String> first = post(server, "/payments", declared,
        BodyPublishers.ofByteArray(large));
    HttpResponse<String> retry = post(server, "/payments", declared,
        BodyPublishers.ofByteArray(large));
    HttpResponse<String> chunkedFirst = post(server, "/payments", chunkedKey, chunked(large));
    HttpResponse<String> chunkedRetry = post(server, "/payments", chunkedKey, chunked(large));
    large[large.length - 1]++;
    HttpResponse<String> changed = post(server, "/payments", chunkedKey, chunked(large));

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo("run 1 read 307200 bytes");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(chunkedFirst.body()).isEqualTo("run 2 read 307200 bytes");
    assertThat(chunkedRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(runs).hasValue(2);
  }

  @Test
  void readWithoutBlockingABodyOverTheLimitGets413DeclaredOrChunked() throws Exception {
    RunningServer server = serve(Once.builder(store).maxBodyBytes(1000).build(),
        BodyReading.NON_BLOCKING);

    HttpResponse<String> declared = post(server, "/payments", newKey(),
        BodyPublishers.ofByteArray(new byte[1001]));
    HttpResponse<String> chunked = post(server, "/payments", newKey(), chunked(new byte[5000]));
    HttpResponse<String> atTheLimit = post(server, "/payments", newKey(), chunked(new byte[1000]));

    assertThat(declared.statusCode()).isEqualTo(413);
    assertThat(declared.body()).contains(ProblemType.REQUEST_TOO_LARGE.uri());
    assertThat(chunked.statusCode()).isEqualTo(413);
    assertThat(chunked.body()).contains(ProblemType.REQUEST_TOO_LARGE.uri());
    assertThat(atTheLimit.statusCode()).isEqualTo(201);
    assertThat(runs).hasValue(1);
  }

  @Test
  void aRefusalThatLeavesTheBodyUnreadClosesTheConnectionSoNoNextRequestIsSentOnIt()
      throws Exception {
    RunningServer server = serve(Once.builder(store).maxBodyBytes(1000).build(),
        BodyReading.BLOCKING);
    String head = "POST /payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

    // the head and the body's first byte, then the client stops sending (a container may read on
    // to the end of a body before it closes, as Tomcat does)
    String badKey = Http.rawHalfClosed(server.port(), head + "Idempotency-Key: " + "k".repeat(256)
        + "\r\nContent-Length: 100\r\n\r\n{");
    String tooLong = Http.rawHalfClosed(server.port(), head + "Idempotency-Key: " + newKey()
        + "\r\nContent-Length: 5000\r\n\r\n{");

    assertThat(badKey).startsWith("HTTP/1.1 400").containsIgnoringCase("Connection: close");
    assertThat(tooLong).startsWith("HTTP/1.1 413").containsIgnoringCase("Connection: close");
    assertThat(runs).hasValue(0);
  }

  @Test
  void readWithoutBlockingFormsAsyncHandlersAndRequestsWithoutAKeyWorkAsBefore()
      throws Exception {
    RunningServer server = serve(Once.builder(store).build(), BodyReading.NON_BLOCKING);

    HttpResponse<String> form = CLIENT.send(HttpRequest.newBuilder(server.uri("/form"))
        .header("Idempotency-Key", newKey())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(BodyPublishers.ofString("amount=42")).build(), BodyHandlers.ofString());
    String asyncKey = newKey();
    HttpResponse<String> async = post(server, "/async", asyncKey, "{}");
    HttpResponse<String> asyncRetry = post(server, "/async", asyncKey, "{}");
    HttpResponse<String> keyless = post(server, "/payments", null, "{\"no\":\"key\"}");
    HttpResponse<String> badKey = post(server, "/payments", "", "{}");

    assertThat(form.body()).isEqualTo("amount=42");
    assertThat(async.statusCode()).isEqualTo(201);
    assertThat(asyncRetry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(asyncRetry.body()).isEqualTo(async.body());
    assertThat(keyless.body()).endsWith("read 12 bytes");
    assertThat(badKey.statusCode()).isEqualTo(400);
    assertThat(runs).hasValue(3);
  }

  @Test
  void readWithoutBlockingDuplicatesWaitForTheFirstAndGetItsReplay() throws Exception {
    Once waiting = Once.builder(store).maxWait(Duration.ofSeconds(30)).build();
    RunningServer server = serve(waiting, BodyReading.NON_BLOCKING);
    String key = newKey();

    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      all.add(CLIENT.sendAsync(HttpRequest.newBuilder(server.uri("/held"))
          .header("Idempotency-Key", key).timeout(Duration.ofSeconds(60))
          .POST(BodyPublishers.ofString("{}")).build(), BodyHandlers.ofString()));
    }

    for (CompletableFuture<HttpResponse<String>> response : all) {
      HttpResponse<String> answer = response.get(60, TimeUnit.SECONDS);
      assertThat(answer.statusCode()).isEqualTo(201);
      assertThat(answer.body()).isEqualTo("held done");
    }
    assertThat(runs).hasValue(1);
  }

  @Test
  void readWithoutBlockingAClientThatHangsUpMidBodyTakesNoKey() throws Exception {
    RunningServer server = serve(Once.builder(store).build(), BodyReading.NON_BLOCKING);
    String key = newKey();

    Socket socket = slowPost(server, key);
    socket.setSoLinger(true, 0);
    socket.close();

    HttpResponse<String> retry = post(server, "/payments", key, "{}");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(1);
  }

  /**
   * Non-blocking reading with the filter registered for {@code REQUEST} only: the dispatch after
   * the read skips the filter, so the handler gets a request no key was claimed for. It fails
   * closed: its body cannot be had, and nothing was stored.
   */
  @Test
  void readWithoutBlockingButNotRegisteredForAsyncTheHandlerCannotHaveTheBody() throws Exception {
    RunningServer server = serve(Once.builder(store).build(), BodyReading.NON_BLOCKING,
        b -> b.dispatcherTypes(java.util.EnumSet.of(jakarta.servlet.DispatcherType.REQUEST)));
    String key = newKey();

    HttpResponse<String> response = post(server, "/payments", key, "{\"amount\":1}");

    assertThat(response.statusCode()).isEqualTo(500);
    assertThat(response.body()).doesNotContain("read 12 bytes");
    assertThat(store.peek(key)).isNull();
  }

  /**
   * The engine's scheduler, except that a task due after {@code bodyTimeout} (a body's deadline)
   * is held until the test lets the deadlines pass.
   */
  private static final class HeldDeadlines extends ScheduledThreadPoolExecutor {
    private final long deadlineNanos;
    private final List<Held> held = new CopyOnWriteArrayList<>();

    HeldDeadlines(Duration bodyTimeout) {
      super(1);
      this.deadlineNanos = bodyTimeout.toNanos();
    }

    int count() {
      return held.size();
    }

    void passAll() {
      for (Held task : held) {
        task.run();
      }
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      if (unit.toNanos(delay) != deadlineNanos) {
        return super.schedule(command, delay, unit);
      }
      Held task = new Held(command);
      held.add(task);
      return task;
    }

    private static final class Held implements ScheduledFuture<Object> {
      private final Runnable command;
      private final AtomicBoolean over = new AtomicBoolean();
      private volatile boolean cancelled;

      Held(Runnable command) {
        this.command = command;
      }

      void run() {
        if (over.compareAndSet(false, true)) {
          command.run();
        }
      }

      @Override
      public boolean cancel(boolean mayInterrupt) {
        cancelled = over.compareAndSet(false, true);
        return cancelled;
      }

      @Override
      public boolean isCancelled() {
        return cancelled;
      }

      @Override
      public boolean isDone() {
        return over.get();
      }

      @Override
      public Object get() {
        return null;
      }

      @Override
      public Object get(long timeout, TimeUnit unit) {
        return null;
      }

      @Override
      public long getDelay(TimeUnit unit) {
        return 0;
      }

      @Override
      public int compareTo(Delayed other) {
        return 0;
      }
    }
  }
}
