package dev.once.servlet;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.suite.RunningServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A servlet of the application's own answering with a problem, as the filter answers. */
class ProblemResponseTest {
  private final MemoryStore store = MemoryStore.create();
  private final AtomicBoolean wroteAfterCommit = new AtomicBoolean(true);
  private RunningServer server;

  @BeforeEach
  void start() throws Exception {
    server = TestServer.with(Once.builder(store).build())
        .handle("/busy", (request, response) -> {
          response.setHeader("Access-Control-Allow-Origin", "*");
          ProblemResponse.write(response, Problem.of(ProblemType.REQUEST_IN_PROGRESS,
              "a \"payment\" is running").withRetryAfter(2));
        })
        .handle("/committed", (request, response) -> {
          response.setStatus(201);
          response.getOutputStream().print("done");
          response.flushBuffer();
          wroteAfterCommit.set(ProblemResponse.write(response,
              Problem.of(ProblemType.STORE_UNAVAILABLE, "too late")));
        })
        .start();
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    store.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(server.uri(path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aProblemIsTheWholeResponseAndKeepsTheHeadersSetBeforeIt() throws Exception {
    HttpResponse<String> response = get("/busy");

    assertThat(response.statusCode()).isEqualTo(409);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    assertThat(response.headers().firstValue("Cache-Control")).hasValue("no-store");
    assertThat(response.headers().firstValue("Retry-After")).hasValue("2");
    assertThat(response.headers().firstValue("Access-Control-Allow-Origin")).hasValue("*");
    assertThat(response.body()).isEqualTo(Problem.of(ProblemType.REQUEST_IN_PROGRESS,
        "a \"payment\" is running").toJson());
    assertThat(response.headers().firstValueAsLong("Content-Length"))
        .hasValue(response.body().length());
  }

  @Test
  void aResponseAlreadyCommittedIsLeftAsItIs() throws Exception {
    HttpResponse<String> response = get("/committed");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).isEqualTo("done");
    assertThat(wroteAfterCommit).isFalse();
  }
}
