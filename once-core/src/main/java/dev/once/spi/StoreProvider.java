package dev.once.spi;

import java.util.Set;

/**
 * Opens stores named by URL, so that programs configured by text (the proxy's {@code --store}, the
 * C library's {@code ONCE_STORE}) can use a store module without depending on it; {@link
 * dev.once.Stores#open} finds the provider of a URL's scheme. A store module registers its provider
 * with {@link java.util.ServiceLoader} ({@code provides dev.once.spi.StoreProvider with ...} in its
 * {@code module-info.java}, and a {@code META-INF/services/dev.once.spi.StoreProvider} file for
 * the class path); the class can stay in a package the module does not export.
 *
 * <p>A provider reads the URL with {@link StoreUrl}: it refuses the parameters it does not know
 * ({@link StoreUrl#refuseUnknownParameters}), binds the others onto its store's builder ({@link
 * StoreUrl#bindDuration} and the like) and shows the URL only as {@link StoreUrl#redacted()}.
 */
public interface StoreProvider {

  /**
   * @return the schemes this provider opens, in lower case as {@link StoreUrl#scheme()} gives
   *     them, such as {@code redis} and {@code rediss}, or {@code jdbc:postgresql}
   */
  Set<String> schemes();

  /**
   * Opens a store, checking that it answers.
   *
   * @param url a URL with one of this provider's {@linkplain #schemes schemes}
   * @return the open store; the caller closes it
   * @throws MalformedStoreUrlException if the URL is malformed, with a message naming what is
   *     wrong (use {@link StoreUrl#malformed})
   * @throws StoreException if the store cannot be reached
   */
  IdempotencyStore open(StoreUrl url);
}
