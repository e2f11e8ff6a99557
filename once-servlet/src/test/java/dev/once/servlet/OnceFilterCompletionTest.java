package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.ProblemType;
import dev.once.suite.RunningServer;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Handlers that work the way a proxy servlet does: non-blocking reads that resume on other threads,
 * and failures after the response was committed.
 */
class OnceFilterCompletionTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final MemoryStore store = MemoryStore.create();
  private final AtomicInteger runs = new AtomicInteger();
  private final ExecutorService resumer = Executors.newSingleThreadExecutor();
  private RunningServer server;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.with(Once.builder(store).maxBodyBytes(4 << 20).build())
        .handle("/non-blocking-echo", (request, response) -> {
          runs.incrementAndGet();
          AsyncContext async = request.startAsync();
          ServletInputStream input = request.getInputStream();
          input.setReadListener(new ChunkedReader(async, input));
        })
        .handle("/fails-after-commit/*", (request, response) -> {
          runs.incrementAndGet();
          response.setStatus(Integer.parseInt(request.getPathInfo().substring(1)));
          response.getOutputStream().write("partial".getBytes(StandardCharsets.UTF_8));
          response.flushBuffer();
          response.setHeader("X-Failed", Boolean.toString(OnceFilter.responseFailed(request)));
        })
        .handle("/fails-before-commit", (request, response) -> {
          runs.incrementAndGet();
          boolean failed = OnceFilter.responseFailed(request);
          response.setStatus(201);
          response.getWriter().write("failed=" + failed);
        })
        .start();
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    resumer.shutdownNow();
    store.close();
  }

  @Test
  void aNonBlockingReaderThatResumesOnAnotherThreadGetsTheWholeBodyBeforeOnAllDataRead()
      throws Exception {
    byte[] body = new byte[300_000];
    new Random(7).nextBytes(body);

    HttpResponse<String> response = CLIENT.send(
        HttpRequest.newBuilder(server.uri("/non-blocking-echo"))
        .header("Idempotency-Key", UUID.randomUUID().toString())
        .POST(BodyPublishers.ofByteArray(body)).build(), BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo("read " + body.length + " bytes, sha256 "
        + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body))
        + ", onAllDataRead once after " + body.length);
  }

  @Test
  void aResponseThatFailsAfterCommitWithACacheableStatusIsNotRunAgainNorReplayedHalf()
      throws Exception {
    FirstAndRetry sent = sendTwice("/fails-after-commit/201");

    // committed before it was set
    assertThat(sent.first().headers().firstValue("X-Failed")).isEmpty();
    assertThat(sent.retry().statusCode()).isEqualTo(409);
    assertThat(sent.retry().body()).contains(ProblemType.RESPONSE_NOT_REPLAYABLE.uri());
    assertThat(runs).hasValue(1);
  }

  @Test
  void aResponseThatFailsAfterCommitWithAnotherStatusReleasesTheKey() throws Exception {
    HttpResponse<String> retry = sendTwice("/fails-after-commit/500").retry();

    assertThat(retry.statusCode()).isEqualTo(500);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(2);
  }

  @Test
  void aResponseThatFailsBeforeCommitReleasesTheKeyAndLaterCompletionStoresNothing()
      throws Exception {
    FirstAndRetry sent = sendTwice("/fails-before-commit");

    assertThat(sent.first().body()).isEqualTo("failed=true");
    assertThat(sent.retry().body()).isEqualTo("failed=true");
    assertThat(sent.retry().headers().firstValue("Idempotent-Replayed")).isEmpty();
    assertThat(runs).hasValue(2);
  }

  @Test
  void responseFailedOnARequestWithoutAKeyDoesNothing() throws Exception {
    HttpResponse<String> response = post("/fails-before-commit", null, "");

    assertThat(response.body()).isEqualTo("failed=false");
  }

  /** A request with a fresh key and no body, and its retry. */
  private record FirstAndRetry(HttpResponse<String> first, HttpResponse<String> retry) {}

  private FirstAndRetry sendTwice(String path) throws Exception {
    String key = UUID.randomUUID().toString();
    HttpResponse<String> first = post(path, key, "");
    return new FirstAndRetry(first, post(path, key, ""));
  }

  private HttpResponse<String> post(String path, String key, String body) throws Exception {
    HttpRequest.Builder builder = HttpRequest.newBuilder(server.uri(path))
        .POST(BodyPublishers.ofString(body))
        .timeout(Duration.ofSeconds(30));
    if (key != null) {
      builder.header("Idempotency-Key", key);
    }
    return CLIENT.send(builder.build(), BodyHandlers.ofString());
  }

  /**
   * Reads 1000 bytes at a time and, like a proxy handing each chunk to an upstream connection,
   * reads the next one on another thread once the chunk is "sent".
   */
  private final class ChunkedReader implements ReadListener {
    private final AsyncContext async;
    private final ServletInputStream input;
    private final MessageDigest digest;
    private final AtomicLong read = new AtomicLong();
    private final AtomicInteger allDataRead = new AtomicInteger();
    private volatile long readWhenAllDataRead = -1;

    ChunkedReader(AsyncContext async, ServletInputStream input) throws Exception {
      this.async = async;
      this.input = input;
      this.digest = MessageDigest.getInstance("SHA-256");
    }

    @Override
    public void onDataAvailable() throws IOException {
      readOneChunk();
    }

    private void readOneChunk() throws IOException {
      if (!input.isReady()) {
        return;
      }
      byte[] chunk = new byte[1000];
      int n = input.read(chunk);
      if (n > 0) {
        digest.update(chunk, 0, n);
        read.addAndGet(n);
        resumer.execute(() -> {
          try {
            readOneChunk();
          } catch (IOException e) {
            onError(e);
          }
        });
      }
    }

    @Override
    public void onAllDataRead() throws IOException {
      if (allDataRead.incrementAndGet() == 1) {
        readWhenAllDataRead = read.get();
      }
      // answer from the resumer thread, after any chunk still being handed on
      resumer.execute(() -> {
        try {
          async.getResponse().getWriter().write("read " + read.get() + " bytes, sha256 "
              + HexFormat.of().formatHex(digest.digest()) + ", onAllDataRead "
              + (allDataRead.get() == 1 ? "once" : allDataRead.get() + " times") + " after "
              + readWhenAllDataRead);
        } catch (IOException e) {
          throw new IllegalStateException(e);
        } finally {
          async.complete();
        }
      });
    }

    @Override
    public void onError(Throwable failure) {
      ((HttpServletResponse) async.getResponse()).setStatus(500);
      async.complete();
    }
  }
}
