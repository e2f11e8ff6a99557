package dev.once;

import dev.once.spi.IdempotencyStore;
import dev.once.spi.MalformedStoreUrlException;
import dev.once.spi.StoreException;
import dev.once.spi.StoreProvider;
import dev.once.spi.StoreUrl;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Opens stores named by URL, for programs configured by text: {@code memory}, or any URL whose
 * scheme a {@link StoreProvider} on the class or module path opens ({@code redis://} with {@code
 * once-redis}, {@code jdbc:postgresql://} with {@code once-jdbc}). An application that knows its
 * store builds it instead ({@code MemoryStore.builder()}, {@code RedisStore.builder(client)}).
 *
 * <p>Providers are found with {@link ServiceLoader}, through the thread's context class loader.
 */
public final class Stores {
  private Stores() {}

  /**
   * Opens the store a URL names.
   *
   * @param url such as {@code memory}, {@code redis://cache:6379/0?commandTimeout=500ms} or {@code
   *     jdbc:postgresql://db/app?user=once}
   * @return the open store; the caller closes it
   * @throws MalformedStoreUrlException if the URL cannot be read (no scheme, an unknown parameter,
   *     a bad value), with a one-line message that shows it without its password
   * @throws UnknownStoreException if no store in this program opens the URL's scheme
   * @throws StoreException if the store cannot be reached
   * @throws NullPointerException if {@code url} is null
   */
  public static IdempotencyStore open(String url) {
    return open(StoreUrl.parse(url));
  }

  /**
   * Opens the store a URL names.
   *
   * @param url the URL, already read
   * @return the open store; the caller closes it
   * @throws MalformedStoreUrlException if the store cannot use the URL
   * @throws UnknownStoreException if no store in this program opens the URL's scheme
   * @throws StoreException if the store cannot be reached
   * @see #open(String)
   */
  public static IdempotencyStore open(StoreUrl url) {
    List<String> available = new ArrayList<>();
    for (StoreProvider provider : ServiceLoader.load(StoreProvider.class)) {
      if (provider.schemes().contains(url.scheme())) {
        return provider.open(url);
      }
      available.addAll(provider.schemes());
    }
    available.sort(null);
    throw new UnknownStoreException(url.scheme(), available);
  }
}
