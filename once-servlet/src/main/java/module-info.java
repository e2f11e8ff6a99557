/** OnceFilter: idempotency keys for any Jakarta Servlet 6 container. */
module dev.once.servlet {
  requires transitive dev.once.core;
  requires jakarta.servlet;

  exports dev.once.servlet;
}
