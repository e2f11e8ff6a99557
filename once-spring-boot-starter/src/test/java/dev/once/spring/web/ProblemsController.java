package dev.once.spring.web;

import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.spring.OnceProblemDetails;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;

/** Answers each of the engine's problems from Spring MVC, as an application using Once would. */
@RestController
public class ProblemsController {

  @GetMapping("/problems/{type}")
  ResponseEntity<ProblemDetail> problem(@PathVariable("type") String type) {
    return OnceProblemDetails.response(problemOf(ProblemType.valueOf(type)));
  }

  static Problem problemOf(ProblemType type) {
    Problem problem = Problem.of(type, "what happened to this \"request\" of type " + type);
    return type == ProblemType.REQUEST_IN_PROGRESS ? problem.withRetryAfter(1) : problem;
  }
}
