package dev.once.examples.transactional;

import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /payments} makes a payment (one row), {@code GET /payments} counts them. For trying
 * failures, {@code X-Example-Fail: after-insert} throws once the payment is inserted (after the
 * {@code @Transactional} service returned), and {@code X-Example-Crash} ends the process (see
 * {@link Payments#pay} and {@link CrashFilter}). Headers are not part of the fingerprint, so the
 * retry without them is the same request.
 */
@RestController
public class PaymentsController {
  private final Payments payments;

  PaymentsController(Payments payments) {
    this.payments = payments;
  }

  @PostMapping("/payments")
  @ResponseStatus(HttpStatus.CREATED)
  public Payments.Payment pay(@RequestBody Map<String, Object> request,
      @RequestHeader(name = "X-Example-Fail", required = false) String fail,
      @RequestHeader(name = "X-Example-Crash", required = false) String crash) {
    Object amount = request.get("amount");
    Payments.Payment payment =
        payments.pay(amount instanceof Number number ? number.longValue() : 0, crash);
    if ("after-insert".equals(fail)) {
      throw new IllegalStateException("X-Example-Fail: after-insert");
    }
    return payment;
  }

  @GetMapping("/payments")
  public Map<String, Long> executions() {
    return Map.of("executions", payments.executions());
  }
}
