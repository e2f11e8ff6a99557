package dev.once.proxy;

/**
 * A bad command line or environment: the message is one line, naming the flag or variable and what
 * is wrong with its value, fit to print as it is.
 */
final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message, null, false, false);
  }
}
