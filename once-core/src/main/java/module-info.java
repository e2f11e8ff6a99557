/** The idempotency engine, the store SPI and the in-memory store. */
module dev.once.core {
  requires com.github.benmanes.caffeine;

  exports dev.once;
  exports dev.once.spi;

  uses dev.once.spi.StoreProvider;
}
