package dev.once.proxy;

import static dev.once.suite.Http.assertProblem;
import static dev.once.suite.Http.newKey;
import static dev.once.suite.Http.postKeyed;
import static dev.once.suite.Http.postKeyedUntilNot409;
import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Scenarios the proxy passes alike in process ({@link ProxyKeyedCallTest}) and as the packaged jar
 * ({@link ProxyJarGuaranteesIT}): each test sets its proxy up, the scenario drives and checks it.
 */
final class ProxyScenarios {
  private ProxyScenarios() {}

  /**
   * A proxy with {@code --unknown-outcome keep} in front of an upstream that answers only once
   * {@code release} opens: the client gets 504 at the upstream timeout; a retry, once the deadline
   * has passed, 502 outcome-unknown; and so does a retry after the upstream's late answer. The
   * upstream ran once.
   *
   * @param payments the proxy's {@code /payments}
   */
  static void noAnswerByTheDeadlineIsAnUnknownOutcomeKept(URI payments, Upstream upstream,
      CountDownLatch release) throws Exception {
    String key = newKey();

    HttpResponse<String> first = postKeyed(payments, key, "{}");
    HttpResponse<String> past = postKeyedUntilNot409(payments, key, "{}");
    release.countDown();
    HttpResponse<String> later = postKeyed(payments, key, "{}");

    assertProblem(first, 504, UpstreamServlet.UPSTREAM_TIMEOUT);
    assertProblem(past, 502, ProblemType.OUTCOME_UNKNOWN.uri());
    assertProblem(later, 502, ProblemType.OUTCOME_UNKNOWN.uri());
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }

  /**
   * An upstream that streams {@code body} with pauses longer than a lease: a retry sent after each
   * byte the client reads (all but the last) gets 409, the retry after the end gets {@code body}
   * replayed, and the upstream ran once.
   *
   * @param payments the proxy's {@code /payments}
   */
  static void aResponseStreamingPastLeasesRunsOnceAndRetriesMeanwhileGet409(URI payments,
      Upstream upstream, String body) throws Exception {
    String key = newKey();

    HttpResponse<InputStream> first = Http.CLIENT.send(
        Http.post(payments, key, "{}").build(), BodyHandlers.ofInputStream());
    List<Integer> meanwhile = new ArrayList<>();
    StringBuilder read = new StringBuilder();
    try (InputStream in = first.body()) {
      for (int b; (b = in.read()) != -1; ) {
        read.append((char) b);
        if (read.length() < body.length()) {
          meanwhile.add(postKeyed(payments, key, "{}").statusCode());
        }
      }
    }
    HttpResponse<String> after = postKeyed(payments, key, "{}");

    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(read.toString()).isEqualTo(body);
    assertThat(meanwhile).hasSize(body.length() - 1).containsOnly(409);
    assertThat(after.body()).isEqualTo(body);
    assertThat(after.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(upstream.hits("/payments")).isEqualTo(1);
  }
}
