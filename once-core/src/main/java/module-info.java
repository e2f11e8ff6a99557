/** The idempotency engine, the store SPI and the in-memory store. */
module dev.once.core {
  // @Nullable marks the API's signatures: static, as nothing reads it at run time (a missing
  // annotation class is ignored); transitive, as it is part of the exported API, so a module that
  // reads this one reads the annotations too (its null checker and Kotlin see them, and javac's
  // [exports] lint has no type it cannot reach)
  requires static transitive org.jspecify;
  // the JVM's count and bound of direct memory, so the memory store leaves some to the server
  requires java.management;

  exports dev.once;
  exports dev.once.config;
  exports dev.once.spi;
  // shared by the HTTP adapters, not an API (see its package-info)
  exports dev.once.adapter to dev.once.jaxrs, dev.once.proxy, dev.once.servlet, dev.once.spring,
      dev.once.webflux;

  uses dev.once.spi.StoreProvider;

  provides dev.once.spi.StoreProvider with dev.once.internal.MemoryStoreProvider;
}
