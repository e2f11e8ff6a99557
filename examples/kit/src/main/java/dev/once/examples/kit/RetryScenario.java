package dev.once.examples.kit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;

/**
 * What every example answers, in this order, to a payment, its retry, the same key with a changed
 * body, and a payment without a key.
 *
 * @param first the payment with the key
 * @param retry the same request again
 * @param changed the same key with another amount
 * @param noKey a payment without {@code Idempotency-Key}
 */
public record RetryScenario(HttpResponse<String> first, HttpResponse<String> retry,
    HttpResponse<String> changed, HttpResponse<String> noKey) {

  /** Sends the four requests, with {@code key} for the first three. */
  public static RetryScenario run(PaymentsClient payments, String key)
      throws IOException, InterruptedException {
    HttpResponse<String> first = payments.post(key, "{\"amount\": 100}");
    HttpResponse<String> retry = payments.post(key, "{\"amount\": 100}");
    HttpResponse<String> changed = payments.post(key, "{\"amount\": 500}");
    HttpResponse<String> noKey = payments.post(null, "{\"amount\": 100}");
    return new RetryScenario(first, retry, changed, noKey);
  }

  /**
   * Asserts the examples' contract: the payment is created with {@code firstBody}, the retry is
   * its replay (201, {@code Idempotent-Replayed: true}, the same body), the changed body is
   * rejected with 422 and the payment without a key with 400.
   */
  public void assertReplayedRejectedAndRefused(String firstBody) {
    assertThat(first.statusCode()).isEqualTo(201);
    assertThat(first.body()).isEqualTo(firstBody);
    assertThat(retry.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(first.body());
    assertThat(changed.statusCode()).isEqualTo(422);
    assertThat(noKey.statusCode()).isEqualTo(400);
  }

  /**
   * Asserts that a payment with {@code otherKey}, sent after the scenario on a freshly started
   * example, runs: it is the second payment, {@code pay_2}, and {@code GET /payments} counts two
   * executions.
   */
  public static void assertAnotherKeyRunsAgain(PaymentsClient payments, String otherKey)
      throws IOException, InterruptedException {
    HttpResponse<String> second = payments.post(otherKey, "{\"amount\": 100}");

    assertThat(second.body()).isEqualTo(
        "{\"id\":\"pay_2\",\"status\":\"created\",\"executions\":2}\n");
    assertThat(payments.get("/payments")).isEqualTo("{\"executions\":2}\n");
  }
}
