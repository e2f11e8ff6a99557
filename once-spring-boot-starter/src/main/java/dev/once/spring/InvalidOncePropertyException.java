package dev.once.spring;

import dev.once.OnceException;
import org.jspecify.annotations.Nullable;

/**
 * A {@code once.*} property, or an {@link Idempotent} attribute, holds a value the starter cannot
 * use. Thrown while the application context starts, so the application does not run with a
 * configuration it did not ask for; Spring Boot prints it as a failure analysis naming the
 * property, its value, where it was set and why it was refused.
 */
public final class InvalidOncePropertyException extends OnceException {
  private static final long serialVersionUID = 1L;

  /** The property, such as {@code once.ttl}. */
  private final String property;
  /** The value as it was configured, or null if unknown. */
  private final @Nullable String value;
  /** Where it was configured (a file and line), or null if unknown. */
  private final @Nullable String origin;
  /** Why it was refused. */
  private final @Nullable String reason;

  /**
   * @param property the property, such as {@code once.ttl}
   * @param value the value as it was configured, or null if unknown
   * @param origin where it was configured (a file and line), or null if unknown
   * @param reason why it was refused, or null if the refusal said nothing
   */
  public InvalidOncePropertyException(String property, @Nullable String value,
      @Nullable String origin, @Nullable String reason) {
    super("Invalid value " + (value == null ? "" : "'" + value + "' ") + "for " + property
        + (origin == null ? "" : " (" + origin + ")") + ": " + reason);
    this.property = property;
    this.value = value;
    this.origin = origin;
    this.reason = reason;
  }

  /** @return the property, such as {@code once.ttl} */
  public String property() {
    return property;
  }

  /** @return the value as configured, or null if unknown */
  public @Nullable String value() {
    return value;
  }

  /** @return where the value was configured, or null if unknown */
  public @Nullable String origin() {
    return origin;
  }

  /** @return why the value was refused, or null if the refusal said nothing */
  public @Nullable String reason() {
    return reason;
  }
}
