package dev.once.proxy;

import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.post;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.send;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.MemoryStore;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /_once/metrics} (the meters as Prometheus text, moving by exactly the requests sent),
 * the health endpoint reading the same store state as the gauge, {@code --access-log} (its fields,
 * and never a body, a query's values or a credential), and {@code traceparent} passed on.
 */
class ProxyMetricsTest {
  private final MemoryStore memory = MemoryStore.create();
  private final PingableStore store = new PingableStore(memory);
  private Upstream upstream;
  private TestProxy proxy;

  @TempDir Path dir;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start().handle("/pay", Upstream.json(201));
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.close();
    }
    upstream.close();
    memory.close();
  }

  @Test
  void theMetricsEndpointServesPrometheusTextWhoseCountsMoveExactlyWithTheRequestsSent()
      throws Exception {
    proxy = TestProxy.start("--upstream", upstream.uri().toString());
    String before = metrics();
    assertThat(before).contains("once_requests_total{outcome=\"executed\"} 0.0")
        .contains("# TYPE once_store_operations_seconds histogram")
        .contains("once_store_up{store=\"memory\"} 1.0");

    for (int i = 0; i < 3; i++) {
      String key = newKey();
      assertThat(postKeyed(proxy.uri("/pay"), key, "{}").statusCode()).isEqualTo(201);
      if (i < 2) {
        assertThat(postKeyed(proxy.uri("/pay"), key, "{}").statusCode()).isEqualTo(201);
      }
    }
    assertThat(postKeyed(proxy.uri("/pay"), null, "{}").statusCode()).isEqualTo(201);

    String after = metrics();
    assertThat(value(after, "once_requests_total{outcome=\"executed\"}")).isEqualTo(3);
    assertThat(value(after, "once_requests_total{outcome=\"replayed\"}")).isEqualTo(2);
    assertThat(value(after, "once_requests_total{outcome=\"passed_through\"}")).isEqualTo(1);
    assertThat(value(after, "once_executions_total{completion=\"stored\"}")).isEqualTo(3);
    assertThat(value(after, "once_in_flight")).isZero();
    assertThat(value(after, "once_proxy_upstream_seconds_count")).isEqualTo(3);
    assertThat(value(after, "once_store_operations_seconds_count{operation=\"claim\","
        + "outcome=\"success\",store=\"MemoryStore\"}")).isEqualTo(5);
    assertThat(value(after, "once_store_records{store=\"MemoryStore\"}")).isEqualTo(3);
  }

  @Test
  void theHealthEndpointAndTheStoreGaugeReadTheSameState() throws Exception {
    proxy = TestProxy.start(store, "--upstream", upstream.uri().toString());
    assertThat(send(get("/_once/health")).statusCode()).isEqualTo(200);
    assertThat(metrics()).contains("once_store_up{store=\"memory\"} 1.0");

    store.down = true;

    HttpResponse<String> health = send(get("/_once/health"));
    assertThat(health.statusCode()).isEqualTo(503);
    assertThat(health.body()).contains("\"state\":\"down\"");
    assertThat(metrics()).contains("once_store_up{store=\"memory\"} 0.0");
  }

  @Test
  void theMetricsEndpointAnswersOnlyGetAndHeadWithAProblem() throws Exception {
    proxy = TestProxy.start(store, "--upstream", upstream.uri().toString());

    HttpResponse<String> refused = send(HttpRequest.newBuilder(proxy.uri("/_once/metrics"))
        .DELETE());

    assertThat(refused.statusCode()).isEqualTo(405);
    assertThat(refused.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    assertThat(upstream.hits("/_once")).isZero();
  }

  @Test
  void theAccessLogHasALinePerKeyedRequestWithoutBodyQueryValuesOrCredentials() throws Exception {
    Path log = dir.resolve("access.jsonl");
    proxy = TestProxy.start(store, "--upstream", upstream.uri().toString(),
        "--scope-header", "Authorization", "--access-log", log.toString());
    String key = "order-17";
    URI uri = proxy.uri("/pay?card=4111111111111111");

    for (int i = 0; i < 2; i++) {
      HttpResponse<String> answer = send(post(uri, key, "{\"secret\":\"body-text-42\"}")
          .header("Authorization", "Bearer token-sk-live-99"));
      assertThat(answer.statusCode()).isEqualTo(201);
    }
    send(post(uri, null, "{\"secret\":\"body-text-42\"}")); // no key: no line
    proxy.stop(); // the log's lines are all written once it stops

    String text = Files.readString(log, StandardCharsets.UTF_8);
    List<String> lines = text.lines().toList();
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0)).matches("\\{\"time\":\"\\d{4}-\\d\\d-\\d\\dT[^\"]+Z\","
        + "\"method\":\"POST\",\"path\":\"/pay\",\"scope\":\"h:[0-9a-f]{32}\","
        + "\"key\":\"order-17\",\"outcome\":\"executed\",\"status\":201,\"upstream_ms\":\\d+}");
    assertThat(lines.get(1)).contains("\"outcome\":\"replayed\",\"status\":201,"
        + "\"upstream_ms\":null}");
    assertThat(field(lines.get(0), "scope")).isEqualTo(field(lines.get(1), "scope"));
    assertThat(text).doesNotContain("body-text-42").doesNotContain("token-sk-live-99")
        .doesNotContain("Bearer").doesNotContain("4111111111111111");
  }

  @Test
  void aTraceparentSentByTheClientReachesTheUpstreamUnchanged() throws Exception {
    proxy = TestProxy.start(store, "--upstream", upstream.uri().toString());
    String traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    send(post(proxy.uri("/pay"), newKey(), "{}").header("traceparent", traceparent)
        .header("tracestate", "vendor=abc"));

    Upstream.Seen seen = upstream.next();
    // the JDK's server names headers in its own case
    assertThat(seen.header("Traceparent")).isEqualTo(traceparent);
    assertThat(seen.header("Tracestate")).isEqualTo("vendor=abc");
  }

  private String metrics() throws Exception {
    HttpResponse<String> answer = send(get("/_once/metrics"));
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.headers().firstValue("Content-Type")).hasValueSatisfying(type ->
        assertThat(type).startsWith("text/plain; version=0.0.4"));
    return answer.body();
  }

  private HttpRequest.Builder get(String path) {
    return HttpRequest.newBuilder(proxy.uri(path)).GET();
  }

  /**
   * @return the value of the sample named exactly {@code sample} (with its labels) in a scrape of
   *     {@code /_once/metrics}; the other proxy tests that count read it here too
   */
  static double value(String metrics, String sample) {
    Matcher found = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)$").matcher(metrics);
    assertThat(found.find()).as(sample + " in\n" + metrics).isTrue();
    return Double.parseDouble(found.group(1));
  }

  private static String field(String line, String name) {
    Matcher found = Pattern.compile("\"" + name + "\":\"([^\"]*)\"").matcher(line);
    assertThat(found.find()).isTrue();
    return found.group(1);
  }

  /** The memory store, whose ping fails while {@link #down} is set. */
  private static final class PingableStore extends ForwardingIdempotencyStore {
    private final IdempotencyStore delegate;
    volatile boolean down;

    PingableStore(IdempotencyStore delegate) {
      this.delegate = delegate;
    }

    @Override
    protected IdempotencyStore delegate() {
      return delegate;
    }

    @Override
    public void ping() {
      if (down) {
        throw new StoreException("the store is down", null, null);
      }
      delegate.ping();
    }
  }
}
