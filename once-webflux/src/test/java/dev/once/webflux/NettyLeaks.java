package dev.once.webflux;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.lang.reflect.Field;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Netty's own leak detector, listened to: the tests run with {@code
 * -Dio.netty.leakDetection.level=paranoid} (see the pom), so every buffer is tracked, and a buffer
 * that was garbage collected without being released is reported here. {@link #check} collects the
 * garbage and allocates, which is when Netty reports what it found.
 */
final class NettyLeaks {
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();

  static {
    try {
      Field field = AbstractByteBuf.class.getDeclaredField("leakDetector");
      field.setAccessible(true);
      ResourceLeakDetector<?> detector = (ResourceLeakDetector<?>) field.get(null);
      detector.setLeakListener((type, records) -> LEAKS.add(type + ": " + records));
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot listen to Netty's leak detector", e);
    }
  }

  private NettyLeaks() {}

  /** @return the leaks Netty reported so far, after giving it a chance to find them */
  static List<String> check() throws InterruptedException {
    for (int round = 0; round < 5; round++) {
      System.gc();
      Thread.sleep(50);
      for (int i = 0; i < 200; i++) {
        ByteBuf probe = PooledByteBufAllocator.DEFAULT.buffer(16);
        probe.release();
      }
    }
    return List.copyOf(LEAKS);
  }

  /** @return the leak detection level in force */
  static ResourceLeakDetector.Level level() {
    return ResourceLeakDetector.getLevel();
  }
}
