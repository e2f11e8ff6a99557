package dev.once.spring;

import dev.once.Problem;
import java.net.URI;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;

/**
 * The engine's problems as Spring {@link ProblemDetail}s, for code that answers from Spring MVC
 * (a controller or an {@code @ExceptionHandler} using {@link dev.once.Once} itself): the body
 * Spring writes has the same {@code type} URI, {@code title}, {@code status} and {@code detail} as
 * the one {@link dev.once.servlet.OnceFilter} writes, so clients see one format. Stateless.
 */
public final class OnceProblemDetails {
  private OnceProblemDetails() {}

  /**
   * @param problem a problem of the engine
   * @return a new {@code ProblemDetail} with its type, title, status and detail
   */
  public static ProblemDetail of(Problem problem) {
    ProblemDetail detail = ProblemDetail.forStatusAndDetail(
        HttpStatusCode.valueOf(problem.status()), problem.detail());
    detail.setType(URI.create(problem.type()));
    detail.setTitle(problem.title());
    return detail;
  }

  /**
   * The problem as a whole response, with the {@linkplain Problem#headers() headers} the filter
   * sends: {@code application/problem+json}, {@code Cache-Control: no-store}, and {@code
   * Retry-After} when the problem has one.
   *
   * @param problem a problem of the engine
   * @return the response
   */
  public static ResponseEntity<ProblemDetail> response(Problem problem) {
    return ResponseEntity.status(problem.status())
        .headers(headers -> problem.headers().forEach(headers::set))
        .body(of(problem));
  }
}
