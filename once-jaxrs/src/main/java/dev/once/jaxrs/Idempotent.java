package dev.once.jaxrs;

import jakarta.ws.rs.NameBinding;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a resource method (or every resource method of a class) as idempotent: a request to it that
 * carries an {@code Idempotency-Key} runs the method once, and its retries get the stored response.
 * It takes effect with {@link OnceFeature#annotated(dev.once.Once)}, whose request filter is bound
 * to it by name; {@link OnceFeature#everyRequest(dev.once.Once)} covers every resource without it.
 *
 * <p>A request to an annotated method is keyed whatever its HTTP method (an annotated {@code @PUT}
 * is covered even if the engine's {@code methods} lists only {@code POST} and {@code PATCH});
 * every other option is the engine's.
 *
 * <pre>{@code
 * @POST
 * @Idempotent
 * public Response pay(Payment payment) { ... }
 * }</pre>
 */
@NameBinding
@Target({ElementType.METHOD, ElementType.TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface Idempotent {}
