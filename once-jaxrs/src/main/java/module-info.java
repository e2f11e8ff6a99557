/** OnceFeature: idempotency keys for any Jakarta REST 3.1 runtime (Jersey, RESTEasy, Quarkus). */
module dev.once.jaxrs {
  requires transitive dev.once.core;
  requires transitive jakarta.ws.rs;

  exports dev.once.jaxrs;
  // the runtimes create and call the providers and the parked-request resource by reflection
  opens dev.once.jaxrs;
  opens dev.once.jaxrs.internal;
}
