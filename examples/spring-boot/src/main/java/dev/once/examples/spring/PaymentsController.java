package dev.once.examples.spring;

import dev.once.spring.Idempotent;
import java.net.URI;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** Charges a card: the handler that must never run twice for one client's retry. */
@RestController
public class PaymentsController {
  /** What the client sends. */
  public record PaymentRequest(long amount) {}

  /** What the service answers; {@code executions} counts the charges actually made. */
  public record Payment(String id, String status, long executions) {}

  /** How many charges were made. */
  public record Executions(long executions) {}

  private final AtomicLong executions = new AtomicLong();

  @PostMapping("/payments")
  @Idempotent(requireKey = true)
  public ResponseEntity<Payment> pay(@RequestBody PaymentRequest request) {
    long n = executions.incrementAndGet();
    Payment payment = new Payment("pay_" + n, "created", n);
    return ResponseEntity.created(URI.create("/payments/" + payment.id())).body(payment);
  }

  @GetMapping("/payments")
  public Executions executions() {
    return new Executions(executions.get());
  }
}
