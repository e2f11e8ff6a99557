/**
 * once's meters and traces on Micrometer: {@link dev.once.micrometer.OnceMeters} (the engine's
 * listener as meters), {@link dev.once.micrometer.MeteredStore} (the store's operations timed),
 * {@link dev.once.micrometer.StoreState} (the store up or down) and {@link
 * dev.once.micrometer.OnceObservations} (an observation per keyed request and store operation).
 */
module dev.once.micrometer {
  requires transitive dev.once.core;
  requires transitive micrometer.core;
  requires transitive micrometer.observation;
  requires micrometer.commons;

  exports dev.once.micrometer;
}
