package dev.once.spring;

import dev.once.Once;

/**
 * Adjusts the {@link Once.Builder} the starter configures, for what properties cannot say (a
 * custom {@link dev.once.KeyScope}, a {@link java.time.Clock}). Every {@code OnceCustomizer} bean
 * is called, in {@link org.springframework.core.annotation.Order} order, after the {@code once.*}
 * properties, the key scope and the listeners have been applied, so a customizer has the last
 * word. Called once, at start, on one thread.
 *
 * <p>A customizer that calls {@link Once.Builder#listener} replaces the listener that feeds the
 * meters and any {@link dev.once.OnceListener} beans; declare a {@code OnceListener} bean instead
 * to add one.
 */
@FunctionalInterface
public interface OnceCustomizer {

  /**
   * @param builder the builder, with the store and the {@code once.*} properties applied
   */
  void customize(Once.Builder builder);
}
