package dev.once.spring.web;

import dev.once.spring.Idempotent;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** Endpoints outside once.url-patterns: idempotent only where annotated. */
@RestController
public class OrdersController {
  final AtomicInteger orders = new AtomicInteger();
  final AtomicInteger updates = new AtomicInteger();
  final AtomicInteger notes = new AtomicInteger();

  @PostMapping("/orders")
  @Idempotent(ttl = "1h", requireKey = true)
  ResponseEntity<Map<String, Object>> create(@RequestBody Map<String, Object> order) {
    return ResponseEntity.status(HttpStatus.CREATED)
        .body(Map.of("order", orders.incrementAndGet(), "item", order.get("item")));
  }

  @PutMapping("/orders/{id}")
  @Idempotent
  Map<String, Object> update(@PathVariable("id") String id,
      @RequestBody Map<String, Object> order) {
    return Map.of("id", id, "version", updates.incrementAndGet(), "item", order.get("item"));
  }

  @PostMapping("/notes")
  Map<String, Object> note(@RequestBody Map<String, Object> note) {
    return Map.of("note", notes.incrementAndGet());
  }
}
