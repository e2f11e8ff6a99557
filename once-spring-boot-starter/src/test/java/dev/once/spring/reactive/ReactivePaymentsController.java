package dev.once.spring.reactive;

import dev.once.spring.Idempotent;
import java.security.Principal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;

/**
 * WebFlux annotated-controller endpoints, each counting its runs: {@code /payments} is covered by
 * {@code once.url-patterns}; {@code /orders} only by {@link Idempotent}; {@code /free} by neither.
 */
@RestController
public class ReactivePaymentsController {
  final AtomicInteger charges = new AtomicInteger();
  final AtomicInteger orders = new AtomicInteger();
  final AtomicInteger updates = new AtomicInteger();
  final AtomicInteger free = new AtomicInteger();

  @PostMapping("/payments")
  public Mono<ResponseEntity<Map<String, Object>>> pay(@RequestBody Map<String, Object> payment,
      ServerWebExchange exchange) {
    return exchange.getPrincipal().map(Principal::getName).map(Optional::of)
        .defaultIfEmpty(Optional.empty())
        .map(by -> {
          Map<String, Object> charge = new LinkedHashMap<>();
          charge.put("charge", charges.incrementAndGet());
          charge.put("amount", payment.get("amount"));
          by.ifPresent(name -> charge.put("by", name));
          return ResponseEntity.status(HttpStatus.CREATED).body(charge);
        });
  }

  /** Takes a while, so that duplicates arrive while it runs. */
  @PostMapping("/payments/slow")
  public Mono<ResponseEntity<String>> paySlowly(@RequestBody String payment) {
    return Mono.delay(Duration.ofMillis(500)).map(ignored -> ResponseEntity
        .status(HttpStatus.CREATED).body("charge " + charges.incrementAndGet()));
  }

  @PostMapping("/payments/form")
  public Mono<ResponseEntity<String>> payByForm(ServerWebExchange exchange) {
    return exchange.getFormData().map(form -> ResponseEntity.status(HttpStatus.CREATED)
        .body("charge " + charges.incrementAndGet() + " of " + form.getFirst("amount")));
  }

  /** Both annotated and under the URL patterns: answered by the annotation's filter alone. */
  @PostMapping("/payments/annotated")
  @Idempotent(ttl = "5m")
  public Mono<ResponseEntity<String>> payAnnotated(@RequestBody String payment) {
    return Mono.fromSupplier(() -> ResponseEntity.status(HttpStatus.CREATED)
        .body("charge " + charges.incrementAndGet()));
  }

  @PostMapping("/orders")
  @Idempotent(requireKey = true)
  public Mono<ResponseEntity<String>> order(@RequestBody String order) {
    return Mono.fromSupplier(() -> ResponseEntity.status(HttpStatus.CREATED)
        .body("order " + orders.incrementAndGet()));
  }

  @PutMapping("/orders/{id}")
  @Idempotent(ttl = "1h")
  public Mono<String> update(@PathVariable("id") String id, @RequestBody String change) {
    return Mono.fromSupplier(() -> "update " + updates.incrementAndGet() + " of " + id);
  }

  @PostMapping("/free")
  public Mono<String> free(@RequestBody String body) {
    return Mono.fromSupplier(() -> "free " + free.incrementAndGet());
  }
}
