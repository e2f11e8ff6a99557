package dev.once;

import java.util.List;

/**
 * A store URL whose scheme no store in this program opens: no {@link dev.once.spi.StoreProvider}
 * on the class or module path takes it (its store module is missing, or the scheme is misspelt).
 * Unlike a {@link dev.once.spi.MalformedStoreUrlException}, the URL itself may be fine.
 */
public class UnknownStoreException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String scheme;
  private final List<String> available;

  /**
   * @param scheme the scheme no store opens, such as {@code mongodb}
   * @param available the schemes the stores in this program open, in the order to show them
   */
  public UnknownStoreException(String scheme, List<String> available) {
    super("no store for \"" + scheme + "\" URLs (available: " + String.join(", ", available)
        + "; a store module on the class path adds its schemes)");
    this.scheme = scheme;
    this.available = List.copyOf(available);
  }

  /** @return the scheme no store opens */
  public String scheme() {
    return scheme;
  }

  /** @return the schemes the stores in this program open, such as {@code memory}, {@code redis} */
  public List<String> available() {
    return available;
  }
}
