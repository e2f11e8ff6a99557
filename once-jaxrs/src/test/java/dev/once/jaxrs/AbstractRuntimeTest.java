package dev.once.jaxrs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.ProblemType;
import dev.once.suite.RunningServer;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;

/**
 * What the tests of {@link OnceFeature} on each {@link JaxrsServers.Runtime} share: a memory
 * store, the server a test starts over it (both closed after the test, once a subclass's own
 * {@code @AfterEach} has let its resources go), an HTTP/1.1 client, new keys, and the check of a
 * problem answer.
 */
abstract class AbstractRuntimeTest {
  static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  final MemoryStore store = MemoryStore.create();
  RunningServer server;

  @AfterEach
  void closeServerAndStore() throws Exception {
    if (server != null) {
      server.close();
    }
    store.close();
  }

  static String newKey() {
    return UUID.randomUUID().toString();
  }

  /** Asserts that {@code response} is the problem {@code type}, with no exception in it. */
  static void assertProblem(HttpResponse<String> response, ProblemType type) {
    assertThat(response.statusCode()).isEqualTo(type.status());
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(response.body()).contains("\"type\":\"" + type.uri() + "\"")
        .doesNotContain("Exception");
  }
}
