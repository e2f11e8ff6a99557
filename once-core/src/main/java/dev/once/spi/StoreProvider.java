package dev.once.spi;

/**
 * Opens stores named by URL, so that programs configured by text (the proxy's {@code --store}, the
 * C library's {@code ONCE_STORE}, Spring properties) can use a store module without depending on
 * it. A store module registers its provider with {@link java.util.ServiceLoader} ({@code
 * provides dev.once.spi.StoreProvider with ...} in its {@code module-info.java}, and a {@code
 * META-INF/services/dev.once.spi.StoreProvider} file for the class path).
 */
public interface StoreProvider {

  /**
   * @param url a store URL, such as {@code redis://localhost:6379/0}
   * @return true if this provider opens stores with this URL's scheme
   */
  boolean accepts(String url);

  /**
   * Opens a store, checking that it answers.
   *
   * @param url a URL this provider {@linkplain #accepts accepts}
   * @return the open store; the caller closes it
   * @throws IllegalArgumentException if the URL is malformed, with a message naming what is wrong
   * @throws StoreException if the store cannot be reached
   */
  IdempotencyStore open(String url);

  /** @return the URL schemes this provider opens, for error messages, such as {@code redis://} */
  String schemes();
}
