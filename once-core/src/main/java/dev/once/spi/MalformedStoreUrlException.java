package dev.once.spi;

/**
 * A store URL that cannot be read: no scheme, a parameter that is unknown or has a bad value, a
 * part its store cannot use. The message is one line that names what is wrong and shows the URL
 * only in its {@linkplain StoreUrl#redacted() redacted} form. A URL whose scheme no store in this
 * program opens is a {@link dev.once.UnknownStoreException} instead.
 */
public class MalformedStoreUrlException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /**
   * @param message what is wrong, without the URL's credentials
   */
  public MalformedStoreUrlException(String message) {
    super(message);
  }
}
