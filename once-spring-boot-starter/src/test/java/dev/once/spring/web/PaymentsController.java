package dev.once.spring.web;

import java.security.Principal;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.async.DeferredResult;

/** Endpoints covered by once.url-patterns (/payments, /payments/*), counting their runs. */
@RestController
public class PaymentsController {
  /** What a client sends. */
  public record PaymentRequest(long amount, String currency, String note) {}

  /** What the handler answers; charge numbers the runs. */
  public record Payment(int charge, long amount, String currency, String note, String by) {}

  final AtomicInteger charges = new AtomicInteger();
  final AtomicInteger failures = new AtomicInteger();
  volatile CountDownLatch entered = new CountDownLatch(1);
  volatile CountDownLatch release = new CountDownLatch(0);

  @PostMapping("/payments")
  ResponseEntity<Payment> pay(@RequestBody PaymentRequest request, Principal principal) {
    return ResponseEntity.status(HttpStatus.CREATED).body(charge(request, principal));
  }

  @PostMapping(path = "/payments/echo", produces = MediaType.APPLICATION_OCTET_STREAM_VALUE)
  byte[] echo(@RequestBody byte[] body) {
    charges.incrementAndGet();
    return body;
  }

  @PostMapping("/payments/slow")
  ResponseEntity<Payment> slow(@RequestBody PaymentRequest request) throws InterruptedException {
    entered.countDown();
    if (!release.await(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the test never released the slow handler");
    }
    return ResponseEntity.status(HttpStatus.CREATED).body(charge(request, null));
  }

  @PostMapping("/payments/async")
  CompletableFuture<ResponseEntity<Payment>> async(@RequestBody PaymentRequest request) {
    return CompletableFuture.supplyAsync(
        () -> ResponseEntity.status(HttpStatus.CREATED).body(charge(request, null)),
        CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS));
  }

  @PostMapping("/payments/deferred")
  DeferredResult<Payment> deferred(@RequestBody PaymentRequest request) {
    DeferredResult<Payment> result = new DeferredResult<>(10_000L);
    CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS)
        .execute(() -> result.setResult(charge(request, null)));
    return result;
  }

  @PatchMapping(path = "/payments/form",
      consumes = MediaType.APPLICATION_FORM_URLENCODED_VALUE)
  Map<String, Object> form(@RequestParam Map<String, String> form) {
    return Map.of("charge", charges.incrementAndGet(), "form", form);
  }

  @PostMapping("/payments/failing")
  Payment failing() {
    failures.incrementAndGet();
    throw new IllegalStateException("the card processor is down");
  }

  private Payment charge(PaymentRequest request, Principal principal) {
    return new Payment(charges.incrementAndGet(), request.amount(), request.currency(),
        request.note(), principal == null ? null : principal.getName());
  }
}
