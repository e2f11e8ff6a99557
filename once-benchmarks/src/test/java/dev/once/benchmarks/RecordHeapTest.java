package dev.once.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RecordHeapTest {
  @Test
  void aCompletedRecordTakesNoHeapOfItsOwn() throws Exception {
    // completed records live in the memory store's off-heap table: no Java object per record
    assertThat(RecordHeap.bytesPerRecord(20_000)).isLessThan(50.0);
  }
}
