package dev.once.adapter;

import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/** How a replay puts its stored headers on a response the server has begun (servlet, WebFlux). */
public final class ReplayHeaders {
  /**
   * Up to this many stored headers, whether a name came before is found by comparing it with the
   * names before it, which allocates nothing; more are tracked in a set.
   */
  private static final int MAX_COMPARED = 16;

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
    List<Header> headers = stored.headers(); // a List.copyOf: indexed reads are direct
    int count = headers.size();
    if (count <= MAX_COMPARED) {
      for (int i = 0; i < count; i++) {
        Header header = headers.get(i);
        (isFirstOfItsName(headers, i) ? set : add).accept(header.name(), header.value());
      }
    } else {
      Set<String> written = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
      for (Header header : headers) {
        (written.add(header.name()) ? set : add).accept(header.name(), header.value());
      }
    }
    set.accept(Once.REPLAYED_HEADER, "true");
  }

  /**
   * @return true if no header before the one at {@code index} has its name, in any case (the
   *     equality of {@link String#CASE_INSENSITIVE_ORDER}, which {@code equalsIgnoreCase} shares)
   */
  private static boolean isFirstOfItsName(List<Header> headers, int index) {
    String name = headers.get(index).name();
    for (int i = 0; i < index; i++) {
      if (headers.get(i).name().equalsIgnoreCase(name)) {
        return false;
      }
    }
    return true;
  }
}
