package dev.once.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RecordHeapTest {
  @Test
  void aCompletedRecordCostsSomeHundredsOfBytes() throws Exception {
    // its key alone is more than 50 bytes; a record that took none would mean nothing was kept
    assertThat(RecordHeap.bytesPerRecord(20_000)).isBetween(100.0, 5_000.0);
  }
}
