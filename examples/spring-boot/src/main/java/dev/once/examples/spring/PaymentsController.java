package dev.once.examples.spring;

import dev.once.spring.Idempotent;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** Charges a card: the handler that must never run twice for one client's retry. */
@RestController
public class PaymentsController {
  /** What the client sends. */
  public record PaymentRequest(long amount, String currency) {}

  /** What the service answers; {@code charge} counts the charges actually made. */
  public record Charge(String status, int charge, long amount, String currency) {}

  private final AtomicInteger charges = new AtomicInteger();

  @PostMapping("/payments")
  @ResponseStatus(HttpStatus.CREATED)
  @Idempotent(requireKey = true)
  public Charge pay(@RequestBody PaymentRequest request) {
    return new Charge("created", charges.incrementAndGet(), request.amount(), request.currency());
  }

  @GetMapping("/charges")
  public int charges() {
    return charges.get();
  }
}
