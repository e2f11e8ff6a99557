package dev.once.adapter;

import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/** How a replay puts its stored headers on a response the server has begun (servlet, WebFlux). */
public final class ReplayHeaders {
  private ReplayHeaders() {}

  /**
   * Writes the stored headers: the first value of each name replaces whatever the server or an
   * earlier filter set under it (its {@code Server} header, say), the later values are added; then
   * {@code Idempotent-Replayed: true}.
   *
   * @param stored the response replayed
   * @param set the response's call that replaces a header's values
   * @param add the response's call that adds a value to a header
   */
  public static void write(
      StoredResponse stored, BiConsumer<String, String> set, BiConsumer<String, String> add) {
    Set<String> written = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    for (Header header : stored.headers()) {
      (written.add(header.name()) ? set : add).accept(header.name(), header.value());
    }
    set.accept(Once.REPLAYED_HEADER, "true");
  }
}
