package dev.once.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;
import dev.once.ProblemType;
import dev.once.suite.Http;
import dev.once.testing.StartedClock;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Response;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The request body of a keyed request to an {@link Idempotent} resource, on Jersey and RESTEasy:
 * over {@code maxBodyBytes} it gets 413, still arriving past {@code bodyTimeout} it gets 408, both
 * as {@code application/problem+json}, and neither runs the resource nor takes the key.
 */
class OnceFeatureBodyTest extends AbstractRuntimeTest {
  private final Payments payments = new Payments();

  @OnEachRuntime(OverTheLimit.class)
  void aBodyOverTheLimitGets413AndTheKeyStaysFree(OverTheLimit body,
      JaxrsServers.Runtime runtime) throws Exception {
    start(runtime, Once.builder(store).maxBodyBytes(1024).build());
    String key = newKey();

    HttpResponse<String> tooLarge = post(key, body.publisher());

    assertProblem(tooLarge, ProblemType.REQUEST_TOO_LARGE);
    assertThat(payments.runs).hasValue(0);
    assertThat(store.peek(key)).isNull();
    assertThat(post(key, BodyPublishers.ofString("{}")).statusCode()).isEqualTo(201);
    assertThat(payments.runs).hasValue(1);
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aBodyAtTheLimitRunsAndReachesTheResourceWhole(JaxrsServers.Runtime runtime)
      throws Exception {
    start(runtime, Once.builder(store).maxBodyBytes(1024).build());
    byte[] body = new byte[1024];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) i;
    }

    HttpResponse<String> response = post(newKey(), chunked(body));

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).isEqualTo("{\"run\":1,\"bytes\":1024}");
  }

  @ParameterizedTest
  @EnumSource(JaxrsServers.Runtime.class)
  void aBodyStillArrivingPastBodyTimeoutGets408AndTakesNoKey(JaxrsServers.Runtime runtime)
      throws Exception {
    StartedClock clock = new StartedClock();
    start(runtime, Once.builder(store).clock(clock).bodyTimeout(Duration.ofSeconds(5)).build());
    String key = newKey();

    try (Socket socket = Http.startPost(server.port(), key, 4)) {
      OutputStream out = socket.getOutputStream();
      assertThat(clock.read.await(30, TimeUnit.SECONDS)).as("the filter started reading")
          .isTrue();
      clock.advance(Duration.ofSeconds(6));
      out.write("\"a\"".getBytes(StandardCharsets.US_ASCII));
      out.flush();

      String answer = head(socket);
      assertThat(answer).startsWith("HTTP/1.1 408 ")
          .containsIgnoringCase("Content-Type: application/problem+json")
          .containsIgnoringCase("Connection: close");
    }
    assertThat(payments.runs).hasValue(0);
    assertThat(store.peek(key)).isNull();
    HttpResponse<String> retry = post(key, BodyPublishers.ofString("{}"));
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(payments.runs).hasValue(1);
  }

  private void start(JaxrsServers.Runtime runtime, Once once) {
    server = runtime.start(OnceFeature.annotated(once), payments);
  }

  private HttpResponse<String> post(String key, BodyPublisher body) throws Exception {
    return CLIENT.send(HttpRequest.newBuilder(server.uri("/payments"))
        .POST(body)
        .header("Content-Type", "application/octet-stream")
        .header("Idempotency-Key", key)
        .timeout(Duration.ofSeconds(60))
        .build(), BodyHandlers.ofString());
  }

  /** A body the JDK client sends chunked: its length is not declared. */
  private static BodyPublisher chunked(byte[] body) {
    return BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body));
  }

  /** @return the status line and headers the server sends on {@code socket} */
  private static String head(Socket socket) throws Exception {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    InputStream in = socket.getInputStream();
    for (int b; (b = in.read()) >= 0; ) {
      head.write(b);
      if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        break;
      }
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }

  /** Bodies over a limit of 1024 bytes, as a client may send them. */
  enum OverTheLimit {
    /** 1025 bytes, their length declared in {@code Content-Length}. */
    DECLARED {
      @Override
      BodyPublisher publisher() {
        return BodyPublishers.ofByteArray(new byte[1025]);
      }
    },
    /** 64 KiB, chunked: the length is known only once they have arrived. */
    CHUNKED {
      @Override
      BodyPublisher publisher() {
        return chunked(new byte[64 * 1024]);
      }
    };

    abstract BodyPublisher publisher();
  }

  /** A resource that counts its runs and the bytes it was given. */
  @Path("/payments")
  public static final class Payments {
    final AtomicInteger runs = new AtomicInteger();

    @POST
    @Idempotent
    @Produces("application/json")
    public Response pay(byte[] body) {
      return Response.status(201)
          .entity("{\"run\":" + runs.incrementAndGet() + ",\"bytes\":" + body.length + "}")
          .build();
    }
  }
}
