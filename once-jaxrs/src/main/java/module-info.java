/** OnceFeature: idempotency keys for Jakarta REST 3.1 runtimes (tested on Jersey and RESTEasy). */
module dev.once.jaxrs {
  requires transitive dev.once.core;
  requires transitive jakarta.ws.rs;

  exports dev.once.jaxrs;
  // the runtimes create and call the providers and the parked-request resource by reflection
  opens dev.once.jaxrs;
  opens dev.once.jaxrs.internal;
}
