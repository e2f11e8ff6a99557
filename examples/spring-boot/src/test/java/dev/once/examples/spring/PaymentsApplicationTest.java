package dev.once.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.boot.json.JsonParserFactory;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;

/** Starts the example application on a random port and uses it as the README shows. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class PaymentsApplicationTest {
  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  @LocalServerPort
  int port;

  @Test
  void aRetriedPaymentIsChargedOnceAndTheRetryIsReplayed() throws Exception {
    String key = UUID.randomUUID().toString();
    int before = Integer.parseInt(get("/charges").body());

    HttpResponse<String> first = pay(key, "{\"amount\": 100, \"currency\": \"EUR\"}");
    HttpResponse<String> retry = pay(key, "{\"amount\": 100, \"currency\": \"EUR\"}");
    HttpResponse<String> changed = pay(key, "{\"amount\": 500, \"currency\": \"EUR\"}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).contains("\"status\":\"created\"");
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(changed.body()).contains("https://once.dev/problems/idempotency-key-reused");
    assertThat(Integer.parseInt(get("/charges").body())).isEqualTo(before + 1);
  }

  @Test
  void aPaymentWithoutAKeyIsRefusedWith400() throws Exception {
    HttpResponse<String> response = pay(null, "{\"amount\": 100, \"currency\": \"EUR\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    assertThat(response.body()).contains("https://once.dev/problems/idempotency-key-missing");
  }

  @Test
  void theActuatorShowsTheStoreHealthAndTheMeters() throws Exception {
    pay(UUID.randomUUID().toString(), "{\"amount\": 1, \"currency\": \"EUR\"}");

    Map<String, Object> health = JsonParserFactory.getJsonParser()
        .parseMap(get("/actuator/health").body());
    assertThat(((Map<?, ?>) health.get("components")).get("once"))
        .isEqualTo(Map.of("status", "UP", "details", Map.of("store", "MemoryStore")));
    assertThat(get("/actuator/metrics/once.requests?tag=outcome:executed").body())
        .contains("\"name\":\"once.requests\"");
  }

  private HttpResponse<String> pay(String key, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri("/payments"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(uri(path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }
}
