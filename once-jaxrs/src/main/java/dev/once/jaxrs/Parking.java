package dev.once.jaxrs;

import jakarta.ws.rs.container.AsyncResponse;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The duplicates parked for {@link dev.once.jaxrs.internal.ParkedRequests}, by id, from the moment
 * the filter routes one there until the resource takes it. An id the resource never took (the
 * rewritten request was answered by another filter first) is dropped by the response filter.
 */
final class Parking {
  private final Map<String, Consumer<AsyncResponse>> waiting = new ConcurrentHashMap<>();

  Map<String, Consumer<AsyncResponse>> waiting() {
    return waiting;
  }

  void park(String id, Consumer<AsyncResponse> parked) {
    waiting.put(id, parked);
  }

  void drop(String id) {
    waiting.remove(id);
  }
}
