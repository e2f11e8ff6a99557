package dev.once.proxy;

import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.suite.Http;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The benchmark's baseline ({@link PlainProxy}): the proxy's server and forwarding with no
 * idempotency, so what a benchmark sees between it and once-proxy is what the idempotency costs.
 */
class PlainProxyTest {
  private Upstream upstream;
  private TestProxy proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start()
        .handle("/payments", Upstream.json(201))
        .handle(HealthHandler.PATH, Upstream.json(200));
    proxy = TestProxy.startPlain("--upstream", upstream.uri().toString());
  }

  @AfterEach
  void stop() {
    proxy.close();
    upstream.close();
  }

  @Test
  void aRetryWithTheSameKeyRunsAgainForNothingIsKept() throws Exception {
    String key = newKey();

    HttpResponse<String> first = postKeyed(proxy.uri("/payments"), key, "{}");
    HttpResponse<String> retry = postKeyed(proxy.uri("/payments"), key, "{}");

    assertThat(first.body()).isEqualTo("{\"run\":1}");
    assertThat(retry.body()).isEqualTo("{\"run\":2}");
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).isEmpty();
  }

  @Test
  void theHealthPathIsTheUpstreamsForThePlainProxyHasNoEndpointOfItsOwn() throws Exception {
    HttpResponse<String> health = Http.send(HttpRequest.newBuilder(proxy.uri(HealthHandler.PATH)));

    assertThat(health.body()).isEqualTo("{\"run\":1}");
    assertThat(upstream.hits(HealthHandler.PATH)).isEqualTo(1);
  }
}
