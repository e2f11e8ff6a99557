package dev.once.spring;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a Spring MVC or Spring WebFlux handler method (or every handler method of a controller)
 * as idempotent: a request to it that carries an {@code Idempotency-Key} runs the method once, and
 * its retries get the stored response, as {@link dev.once.servlet.OnceFilter} (or, in a WebFlux
 * application, {@code OnceWebFilter}) does for the configured URL patterns.
 *
 * <p>The starter's filter resolves each request's handler before the {@code DispatcherServlet}
 * (or WebFlux's {@code DispatcherHandler}) runs, with the same handler mappings in the same order,
 * so the annotation works whatever the URL and whatever {@code once.url-patterns} says. A request
 * whose handler carries this annotation is answered with the annotation's settings only; the
 * URL-pattern filter leaves it alone.
 *
 * <p>The endpoint's settings are the application's {@code once.*} settings, with these changes:
 * the HTTP methods are those the handler is mapped to ({@code @PutMapping} makes {@code PUT}
 * idempotent here even if {@code once.methods} does not list it), and {@link #ttl()} and {@link
 * #requireKey()} when given. Invalid values stop the application at start with a message naming
 * the method.
 *
 * <pre>{@code
 * @PostMapping("/payments")
 * @Idempotent(ttl = "1h", requireKey = true)
 * Payment pay(@RequestBody PaymentRequest request) { ... }
 * }</pre>
 */
@Target({ElementType.METHOD, ElementType.TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface Idempotent {

  /**
   * How long this endpoint's responses are kept for replay, as the {@code once.*} durations are
   * written: Spring Boot's forms ({@code "1h"}, {@code "30m"}, {@code "PT10S"}; a bare number is
   * milliseconds) or once's ({@code "1h30m"}, {@code "2d"}). Empty, the default, keeps {@code
   * once.ttl}.
   *
   * @return the ttl, or empty for the application's
   */
  String ttl() default "";

  /**
   * True refuses a request to this endpoint without a key (400, problem type {@code
   * idempotency-key-missing}), whatever {@code once.require-key} says. False, the default, keeps
   * {@code once.require-key}.
   *
   * @return true to require a key here
   */
  boolean requireKey() default false;
}
