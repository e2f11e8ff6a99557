package dev.once.benchmarks;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.Token;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * How much heap a completed record of {@link MemoryStore} costs: fills a store with records of the
 * Spring Boot benchmark's shape (a 36-character key, a request hash, a 201 with {@code
 * Content-Type: application/json} and a 33-byte JSON body) and reads the heap in use after full
 * collections, before and after. What a young collection copies while such records are young.
 *
 * <pre>
 * java -Xmx2g -XX:+UseSerialGC -cp once-benchmarks/target/benchmarks.jar \
 *     dev.once.benchmarks.RecordHeap [records, default 200000]
 * </pre>
 */
public final class RecordHeap {
  private static final byte[] BODY =
      "{\"status\":\"created\",\"amount\":100}".getBytes(StandardCharsets.UTF_8);

  private RecordHeap() {}

  /**
   * Prints the heap per completed record.
   *
   * @param args the number of records (optional)
   */
  public static void main(String[] args) throws InterruptedException {
    int records = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
    System.out.printf("%d completed records: %.0f bytes of heap each%n", records,
        bytesPerRecord(records));
  }

  /**
   * @param records how many records to store
   * @return the heap in use per record, after full collections
   */
  static double bytesPerRecord(int records) throws InterruptedException {
    MemoryStore store = MemoryStore.builder().maximumRecords(Math.max(records, 1)).build();
    try {
      List<StoredResponse.Header> headers =
          List.of(new StoredResponse.Header("Content-Type", "application/json"));
      long before = heapInUse();
      for (int i = 0; i < records; i++) {
        String key = UUID.randomUUID().toString();
        Fingerprint fingerprint = Fingerprint.of("POST", "/payments", null, BODY);
        Claim claim = store.claim(key, fingerprint, Duration.ofMinutes(1));
        Token token = Objects.requireNonNull(claim.token(), "a new key is acquired");
        store.complete(key, token, StoredResponse.of(201, headers, BODY.clone()),
            Duration.ofMinutes(10));
      }
      long after = heapInUse();
      if (store.toString().isEmpty()) {
        throw new IllegalStateException(); // keeps the store reachable until here
      }
      return (after - before) / (double) records;
    } finally {
      store.close();
    }
  }

  private static long heapInUse() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
