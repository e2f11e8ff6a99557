/** OnceWebFilter: idempotency keys for Spring WebFlux. */
module dev.once.webflux {
  requires transitive dev.once.core;
  requires transitive spring.web;
  requires spring.core;
  requires reactor.core;
  requires org.reactivestreams;

  exports dev.once.webflux;
}
