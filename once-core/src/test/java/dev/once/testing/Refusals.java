package dev.once.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.MalformedStoreUrlException;
import org.assertj.core.api.AbstractStringAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Assertions on the one-line refusal of a store URL. */
public final class Refusals {
  private Refusals() {}

  /**
   * @param opening reads or opens a store URL
   * @return an assertion on the message of the {@link MalformedStoreUrlException} it throws
   * @throws AssertionError if it throws none, or another exception
   */
  public static AbstractStringAssert<?> refusalOf(ThrowingCallable opening) {
    try {
      opening.call();
    } catch (MalformedStoreUrlException e) {
      return assertThat(e.getMessage());
    } catch (Throwable e) {
      throw new AssertionError("expected a MalformedStoreUrlException, but was " + e, e);
    }
    throw new AssertionError("expected a MalformedStoreUrlException, but nothing was thrown");
  }
}
