package dev.once.adapter;

import dev.once.Once;
import dev.once.Problem;
import dev.once.ProblemType;
import dev.once.spi.Deletion;
import dev.once.spi.RecordInfo;
import dev.once.spi.StoreException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The admin API's two requests, as every front end answers them (the Spring actuator endpoint,
 * the proxy's admin listener): look at the record of a client's key in a scope, or delete it.
 * Turns {@link Once#inspect} and {@link Once#delete} into a status and a body: the record's fields
 * (200), nothing (204), or a problem: 400 for a key no request could carry, 404 when the key has
 * no record, 409 when it is in progress and deletion was not forced, 503 when the store cannot
 * answer, 501 when it does not implement the admin operations. Stateless and thread-safe.
 */
public final class AdminRequests {
  /** The type URI of the 404 when a key has no record. */
  public static final String RECORD_NOT_FOUND = ProblemType.URI_PREFIX + "record-not-found";

  private AdminRequests() {}

  /**
   * Looks at the record of {@code key} in {@code scope}.
   *
   * @param once the engine whose store holds the record
   * @param scope the key's scope, null or empty for the global scope
   * @param key the key as a client sends it
   * @return 200 with the record's fields, or a problem
   */
  public static Answer inspect(Once once, @Nullable String scope, String key) {
    Optional<RecordInfo> info;
    try {
      info = once.inspect(scope == null ? "" : scope, key);
    } catch (RuntimeException e) {
      return failure(e, key);
    }
    return info.map(record -> new Answer(200, fields(record), null))
        .orElseGet(() -> notFound(key));
  }

  /**
   * Deletes the record of {@code key} in {@code scope}; an in-progress one only if {@code force}.
   *
   * @param once the engine whose store holds the record
   * @param scope the key's scope, null or empty for the global scope
   * @param key the key as a client sends it
   * @param force whether to delete an in-progress record too
   * @return 204, or a problem
   */
  public static Answer delete(Once once, @Nullable String scope, String key, boolean force) {
    Deletion deletion;
    try {
      deletion = once.delete(scope == null ? "" : scope, key, force);
    } catch (RuntimeException e) {
      return failure(e, key);
    }
    return switch (deletion) {
      case DELETED, FORCED -> new Answer(204, null, null);
      case ABSENT -> notFound(key);
      case IN_PROGRESS -> new Answer(409, null, Problem.of(ProblemType.REQUEST_IN_PROGRESS,
          "the request with key \"" + key + "\" is in progress; delete it with force=true only"
              + " if it is stuck, since a retry may then run beside it"));
    };
  }

  /**
   * @param info a record's description
   * @return its fields, in a stable order, for a JSON object: {@code state} ({@code
   *     in_progress} or {@code completed}), {@code created} (when kept), {@code expires}, {@code
   *     timeLeftMillis}, {@code leaseLeftMillis} (in progress), {@code status} (completed), {@code
   *     storedBytes} and {@code replayable}
   */
  public static Map<String, Object> fields(RecordInfo info) {
    Map<String, Object> fields = new LinkedHashMap<>();
    fields.put("state", info.state() == RecordInfo.State.IN_PROGRESS ? "in_progress" : "completed");
    info.created().ifPresent(created -> fields.put("created", created.toString()));
    fields.put("expires", info.expires().toString());
    fields.put("timeLeftMillis", info.timeLeft().toMillis());
    info.leaseLeft().ifPresent(left -> fields.put("leaseLeftMillis", left.toMillis()));
    info.status().ifPresent(status -> fields.put("status", status));
    fields.put("storedBytes", info.storedBytes());
    fields.put("replayable", info.replayable());
    return fields;
  }

  private static Answer notFound(String key) {
    return new Answer(404, null, Problem.of(404, RECORD_NOT_FOUND, "No record of this key",
        "the key \"" + key + "\" has no live record in this scope"));
  }

  private static Answer failure(RuntimeException e, String key) {
    if (e instanceof IllegalArgumentException) {
      return new Answer(400, null, Problem.of(400, ProblemType.URI_PREFIX + "key-invalid",
          "The key is not a valid key", Objects.toString(e.getMessage())));
    }
    if (e instanceof StoreException) {
      return new Answer(503, null, Problem.of(ProblemType.STORE_UNAVAILABLE,
          "the store could not answer for key \"" + key + "\"; try again"));
    }
    if (e instanceof UnsupportedOperationException) {
      return new Answer(501, null, Problem.of(501, ProblemType.URI_PREFIX + "admin-unsupported",
          "The store has no admin operations", Objects.toString(e.getMessage())));
    }
    throw e;
  }

  /** A status and either a record's fields, a problem, or no body. Immutable. */
  public static final class Answer {
    private final int status;
    private final @Nullable Map<String, Object> record;
    private final @Nullable Problem problem;

    Answer(int status, @Nullable Map<String, Object> record, @Nullable Problem problem) {
      this.status = status;
      this.record = record == null ? null : java.util.Collections.unmodifiableMap(record);
      this.problem = problem;
    }

    /** @return the HTTP status */
    public int status() {
      return status;
    }

    /** @return the record's fields when the status is 200, else null */
    public @Nullable Map<String, Object> record() {
      return record;
    }

    /** @return the problem when the status is 400 or more, else null */
    public @Nullable Problem problem() {
      return problem;
    }

    /**
     * @return the body as JSON: the record's fields (strings, numbers and booleans, none of which
     *     needs escaping), the problem, or the empty string for 204
     */
    public String toJson() {
      if (problem != null) {
        return problem.toJson();
      }
      if (record == null) {
        return "";
      }
      StringBuilder json = new StringBuilder("{");
      for (Map.Entry<String, Object> field : record.entrySet()) {
        json.append(json.length() == 1 ? "" : ",").append('"').append(field.getKey())
            .append("\":");
        Object value = field.getValue();
        if (value instanceof String) {
          json.append('"').append(value).append('"');
        } else {
          json.append(value);
        }
      }
      return json.append('}').toString();
    }

    /** @return {@code application/problem+json}, {@code application/json}, or null for 204 */
    public @Nullable String contentType() {
      return problem != null ? Problem.CONTENT_TYPE : record != null ? "application/json" : null;
    }
  }
}
