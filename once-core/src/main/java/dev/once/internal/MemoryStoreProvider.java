package dev.once.internal;

import dev.once.MemoryStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreProvider;
import dev.once.spi.StoreUrl;
import java.util.List;
import java.util.Set;

/**
 * Opens {@code memory} store URLs: a new {@link MemoryStore}, one per call, shared with nobody.
 * {@code memory}, {@code memory:} and {@code memory://} are the same; the parameters are the
 * builder's bounds, {@code maximumWeight} (a size, such as {@code 64MiB}) and {@code
 * maximumRecords}: {@code memory?maximumRecords=100000}.
 *
 * <p>Public only because {@link java.util.ServiceLoader} needs it; not part of the API.
 */
public final class MemoryStoreProvider implements StoreProvider {
  private static final List<String> PARAMETERS = List.of("maximumWeight", "maximumRecords");

  @Override
  public Set<String> schemes() {
    return Set.of("memory");
  }

  @Override
  public IdempotencyStore open(StoreUrl url) {
    String text = url.text();
    int question = text.indexOf('?');
    String rest = (question < 0 ? text : text.substring(0, question)).substring("memory".length());
    if (!rest.isEmpty() && !rest.equals(":") && !rest.equals("://")) {
      throw url.malformed("a memory store is in this process, named by memory alone, but there is"
          + " \"" + rest + "\" after it");
    }
    url.refuseUnknownParameters(PARAMETERS, name -> false, null);
    MemoryStore.Builder builder = MemoryStore.builder();
    url.bindSize("maximumWeight", builder::maximumWeightBytes);
    url.bindLong("maximumRecords", builder::maximumRecords);
    return builder.build();
  }
}
