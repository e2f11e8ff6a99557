package dev.once.spring;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Prints an {@link InvalidOncePropertyException} that stopped the application as Spring Boot's
 * other configuration failures are printed: what is wrong, and what to do.
 */
final class OnceFailureAnalyzer extends AbstractFailureAnalyzer<InvalidOncePropertyException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, InvalidOncePropertyException cause) {
    StringBuilder description = new StringBuilder("Invalid once configuration:\n\n");
    description.append("    Property: ").append(cause.property()).append('\n');
    if (cause.value() != null) {
      description.append("    Value: \"").append(cause.value()).append("\"\n");
    }
    if (cause.origin() != null) {
      description.append("    Origin: ").append(cause.origin()).append('\n');
    }
    description.append("    Reason: ").append(cause.reason());
    String action = cause.property().startsWith("once.")
        ? "Update " + cause.property() + " in your application's configuration (the once.*"
            + " properties and their values are listed in the once documentation, SPRING.md)."
        : "Fix the " + cause.property() + ".";
    return new FailureAnalysis(description.toString(), action, cause);
  }
}
