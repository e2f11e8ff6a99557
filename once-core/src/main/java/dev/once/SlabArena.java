package dev.once;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Memory outside the Java heap for {@link MemoryStore}'s completed records: direct buffers
 * (slabs), cut into blocks of {@value #BLOCK_BYTES} bytes. The first slab is 8 KiB and each next
 * one twice the last up to 1 MiB, then all are 1 MiB: a store holding a few records reserves a few
 * KiB, and a block's slab is found with a shift. A record's bytes are a chain of
 * blocks, each starting with the index of the next one, so any free block serves any record and
 * the arena never fragments; a record wastes less than one block.
 *
 * <p>Slabs are made on first need, up to the capacity given, and kept until the arena is
 * unreachable (the collector frees a direct buffer when its small heap object goes; there is no
 * public way to free one sooner), so the memory reserved is at most the capacity and the memory
 * in use ({@link #usedBytes()}) goes back to zero when every chain is freed. Blocks are taken and
 * given back under one lock, a few instructions a block; bytes are written and read outside it,
 * with the buffers' absolute methods, which share no position between threads.
 *
 * <p>The arena does not know who reads a chain: the caller must not free a chain while it may
 * still be read, nor read one after freeing it ({@link CompletedTable} reads and frees a chain only
 * holding the monitor of the segment whose slot points to it). Writes made before a chain's index
 * is published under that monitor are seen by every reader that finds the index under it.
 */
final class SlabArena {
  /** The size of a block, its link included. */
  static final int BLOCK_BYTES = 128;

  /** No next block. */
  private static final int END = -1;
  private static final int LINK_BYTES = Integer.BYTES;
  private static final int PAYLOAD_BYTES = BLOCK_BYTES - LINK_BYTES;
  private static final int BLOCKS_PER_SLAB = (1 << 20) / BLOCK_BYTES;
  /** The blocks of the first slab (8 KiB); each next one doubles, up to a full slab. */
  private static final int FIRST_SLAB_BLOCKS = 64;
  private static final int FIRST_SLAB_SHIFT = Integer.numberOfTrailingZeros(FIRST_SLAB_BLOCKS);
  /** How many slabs are smaller than a full one, the last of those included: 8 KiB to 1 MiB. */
  private static final int GROWING_SLABS =
      Integer.numberOfTrailingZeros(BLOCKS_PER_SLAB / FIRST_SLAB_BLOCKS) + 1;
  /** The first block past the growing slabs. */
  private static final int GROWING_END = FIRST_SLAB_BLOCKS * ((1 << GROWING_SLABS) - 1);

  /**
   * How long after direct memory refused a buffer none is asked for again: each refusal costs a
   * {@code System.gc()} and about half a second of retries inside the JDK, taken while a lock of
   * the store is held, which a flood would otherwise pay on every completion.
   */
  private static final long RETRY_DIRECT_AFTER_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** When direct memory last refused a buffer (any store's: the limit is the JVM's). */
  private static volatile long directRefusedAt = System.nanoTime() - RETRY_DIRECT_AFTER_NANOS;

  /**
   * The JVM's direct buffers (the JDK's own count, which {@code -XX:MaxDirectMemorySize} bounds),
   * or null where the platform's beans are not there (then no headroom is kept).
   */
  private static final @Nullable BufferPoolMXBean DIRECT_POOL = directPool();

  /** The JVM's bound on direct memory: {@code -XX:MaxDirectMemorySize}, else the heap's bound. */
  private static final long DIRECT_LIMIT = directLimit();

  /**
   * The direct memory the stores leave to the rest of the JVM: a quarter of the bound. Without it
   * a flood of long keys took direct memory to its last KiB (the key slabs and the table's
   * segments grow in small steps), and then the server's and the HTTP client's own buffers, and
   * the JDK's temporary ones for socket writes, were refused: an upstream's answer was lost as a
   * broken connection, and clients' connections closed with no answer.
   */
  private static final long DIRECT_HEADROOM = DIRECT_LIMIT / 4;

  private final int capacityBlocks;
  /** Made under the lock; read without it by threads that found a chain published after. */
  private final ByteBuffer[] slabs;
  private final Object lock = new Object();
  /** Blocks given back, to be taken again before fresh ones; guarded by the lock. */
  private int[] free = new int[64];
  private int freeCount;
  /** Blocks below this were taken at least once; guarded by the lock. */
  private int fresh;
  /** Written under the lock. */
  private volatile int usedBlocks;

  /**
   * Whether a slab is made on the heap when direct memory is exhausted: for what must be kept
   * (keys), where a slab not made would lose a record; not for responses, which are kept without
   * their bodies instead, so that their direct memory bound also bounds the heap.
   */
  private final boolean onHeapWhenNoDirectMemory;

  /**
   * @param capacityBytes the bound on the memory the arena reserves, at least one block
   * @param onHeapWhenNoDirectMemory whether a slab direct memory has no room for is made on the
   *     heap (one byte array, which the collector never looks inside), rather than refused
   */
  SlabArena(long capacityBytes, boolean onHeapWhenNoDirectMemory) {
    this.onHeapWhenNoDirectMemory = onHeapWhenNoDirectMemory;
    this.capacityBlocks = (int) Math.max(1, Math.min(Integer.MAX_VALUE - 2 * BLOCKS_PER_SLAB,
        capacityBytes / BLOCK_BYTES));
    this.slabs = new ByteBuffer[slabIndex(capacityBlocks - 1) + 1];
  }

  /** @return the bytes of the blocks a chain of {@code length} bytes takes */
  static long chainBytes(int length) {
    return (long) blocksFor(length) * BLOCK_BYTES;
  }

  private static int blocksFor(int length) {
    return Math.max(1, (length + PAYLOAD_BYTES - 1) / PAYLOAD_BYTES);
  }

  /**
   * Copies {@code bytes} into a new chain.
   *
   * @return the chain's first block, or -1 if the arena has no room for it (or the system no
   *     direct memory for a new slab)
   */
  int store(byte[] bytes) {
    int first = allocate(blocksFor(bytes.length));
    if (first != END) {
      int block = first;
      for (int position = 0; position < bytes.length; position += PAYLOAD_BYTES) {
        slab(block).put(offset(block) + LINK_BYTES, bytes, position,
            Math.min(PAYLOAD_BYTES, bytes.length - position));
        block = next(block);
      }
    }
    return first;
  }

  /**
   * Copies bytes of the chain from {@code first} out, starting {@code from} bytes into it.
   *
   * @param first the chain's first block
   * @param from how many of the chain's bytes to pass over
   * @param into where to copy; filled whole
   */
  void read(int first, int from, byte[] into) {
    int block = first;
    int skip = from;
    while (skip >= PAYLOAD_BYTES) {
      block = next(block);
      skip -= PAYLOAD_BYTES;
    }
    int position = 0;
    while (position < into.length) {
      int n = Math.min(PAYLOAD_BYTES - skip, into.length - position);
      slab(block).get(offset(block) + LINK_BYTES + skip, into, position, n);
      position += n;
      skip = 0;
      if (position < into.length) {
        block = next(block);
      }
    }
  }

  /**
   * Compares a chain holding a key, one byte a char (Latin-1) or two (UTF-16, big-endian), with
   * {@code key}, allocating nothing.
   *
   * @param first the chain's first block
   * @param key the key; its length must be the stored key's
   * @param wide whether the chain holds two bytes a char
   * @return true if every char is equal
   */
  boolean matches(int first, String key, boolean wide) {
    int block = first;
    int at = 0;
    int width = wide ? 2 : 1;
    for (int i = 0; i < key.length(); i++) {
      if (at + width > PAYLOAD_BYTES) {
        block = next(block);
        at = 0;
      }
      ByteBuffer slab = slab(block);
      int index = offset(block) + LINK_BYTES + at;
      char stored = wide ? slab.getChar(index) : (char) (slab.get(index) & 0xFF);
      if (stored != key.charAt(i)) {
        return false;
      }
      at += width;
    }
    return true;
  }

  /** Gives the chain's blocks back; the chain must not be read again. */
  void free(int first) {
    synchronized (lock) {
      int count = 0;
      for (int block = first; block != END; block = next(block)) {
        if (freeCount == free.length) {
          int[] grown = new int[(int) Math.min(capacityBlocks, 2L * free.length)];
          System.arraycopy(free, 0, grown, 0, freeCount);
          free = grown;
        }
        free[freeCount++] = block;
        count++;
      }
      usedBlocks -= count;
    }
  }

  /** @return the bound on the bytes of the blocks in use */
  long capacityBytes() {
    return (long) capacityBlocks * BLOCK_BYTES;
  }

  /** @return the bytes of the blocks in chains not yet freed */
  long usedBytes() {
    return (long) usedBlocks * BLOCK_BYTES;
  }

  /** @return the bytes of the slabs made so far, in use or not */
  long reservedBytes() {
    synchronized (lock) {
      long bytes = 0;
      for (ByteBuffer slab : slabs) {
        bytes += slab == null ? 0 : slab.capacity();
      }
      return bytes;
    }
  }

  private int allocate(int blocks) {
    synchronized (lock) {
      if (capacityBlocks - usedBlocks < blocks) {
        return END;
      }
      if (blocks > freeCount && !ensureSlabs(fresh + blocks - freeCount)) {
        return END;
      }
      int first = END;
      int previous = END;
      for (int i = 0; i < blocks; i++) {
        int block = freeCount > 0 ? free[--freeCount] : fresh++;
        if (previous == END) {
          first = block;
        } else {
          link(previous, block);
        }
        previous = block;
      }
      link(previous, END);
      usedBlocks += blocks;
      return first;
    }
  }

  /** Makes the slabs that blocks below {@code end} lie in; under the lock. */
  private boolean ensureSlabs(int end) {
    for (int index = slabIndex(fresh); slabStart(index) < end; index++) {
      if (slabs[index] == null) {
        int blocks = Math.min(slabBlocks(index), capacityBlocks - slabStart(index));
        ByteBuffer slab = allocate(blocks * BLOCK_BYTES, onHeapWhenNoDirectMemory);
        if (slab == null) {
          return false; // -XX:MaxDirectMemorySize reached: no room, as when the arena is full
        }
        slabs[index] = slab;
      }
    }
    return true;
  }

  /**
   * A buffer outside the heap, or when {@code -XX:MaxDirectMemorySize} is reached (or was, less
   * than ten seconds ago) or the buffer would eat into the {@linkplain #DIRECT_HEADROOM headroom}
   * left to the rest of the JVM, on the heap if {@code onHeap} (a heap buffer's absolute methods
   * read and write as a direct one's do).
   *
   * @param bytes the buffer's size
   * @param onHeap whether to make a heap buffer when there is no direct memory for it
   * @return the buffer, or null when there is no direct memory for it and not {@code onHeap}
   * @throws OutOfMemoryError if there is no direct memory and no heap for it
   */
  static @Nullable ByteBuffer allocate(int bytes, boolean onHeap) {
    if (System.nanoTime() - directRefusedAt >= RETRY_DIRECT_AFTER_NANOS
        && leavesHeadroom(bytes)) {
      try {
        return ByteBuffer.allocateDirect(bytes);
      } catch (OutOfMemoryError noDirectMemory) {
        directRefusedAt = System.nanoTime();
      }
    }
    return onHeap ? ByteBuffer.allocate(bytes) : null;
  }

  private static boolean leavesHeadroom(int bytes) {
    return DIRECT_POOL == null
        || DIRECT_POOL.getMemoryUsed() + bytes <= DIRECT_LIMIT - DIRECT_HEADROOM;
  }

  private static @Nullable BufferPoolMXBean directPool() {
    try {
      for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
        if (pool.getName().equals("direct")) {
          return pool;
        }
      }
    } catch (RuntimeException | LinkageError noBeans) {
      // a runtime without the platform's beans (some native images): no headroom kept
    }
    return null;
  }

  private static long directLimit() {
    List<String> arguments;
    try {
      arguments = ManagementFactory.getRuntimeMXBean().getInputArguments();
    } catch (RuntimeException | LinkageError noBeans) {
      arguments = List.of();
    }
    return directLimit(arguments, Runtime.getRuntime().maxMemory());
  }

  /**
   * The bound the JDK puts on direct memory, as it reads it: the last {@code
   * -XX:MaxDirectMemorySize} given, else the heap's bound.
   *
   * @param arguments the JVM's arguments
   * @param heapLimit {@link Runtime#maxMemory()}
   * @return the bound in bytes
   */
  static long directLimit(List<String> arguments, long heapLimit) {
    String flag = "-XX:MaxDirectMemorySize=";
    long limit = heapLimit;
    for (String argument : arguments) {
      if (argument.startsWith(flag)) {
        limit = size(argument.substring(flag.length()), limit);
      }
    }
    return limit;
  }

  private static long size(String value, long otherwise) {
    String digits = value.toLowerCase(Locale.ROOT);
    int shift = 0;
    if (!digits.isEmpty()) {
      int unit = "kmgt".indexOf(digits.charAt(digits.length() - 1));
      if (unit >= 0) {
        shift = 10 * (unit + 1);
        digits = digits.substring(0, digits.length() - 1);
      }
    }
    try {
      long number = Long.parseLong(digits);
      return number < 0 || number > Long.MAX_VALUE >> shift ? otherwise : number << shift;
    } catch (NumberFormatException notASize) {
      return otherwise;
    }
  }

  private ByteBuffer slab(int block) {
    return slabs[slabIndex(block)];
  }

  private static int offset(int block) {
    return (block - slabStart(slabIndex(block))) * BLOCK_BYTES;
  }

  /** @return the slab a block lies in: the growing slabs first (8 KiB, 16 KiB...), then 1 MiB */
  private static int slabIndex(int block) {
    if (block < GROWING_END) {
      return Integer.SIZE - 1 - Integer.numberOfLeadingZeros((block >>> FIRST_SLAB_SHIFT) + 1);
    }
    return GROWING_SLABS + (block - GROWING_END) / BLOCKS_PER_SLAB;
  }

  /** @return the first block of a slab */
  private static int slabStart(int index) {
    if (index < GROWING_SLABS) {
      return FIRST_SLAB_BLOCKS * ((1 << index) - 1);
    }
    return GROWING_END + (index - GROWING_SLABS) * BLOCKS_PER_SLAB;
  }

  /** @return the blocks of a slab, if the capacity does not end it sooner */
  private static int slabBlocks(int index) {
    return index < GROWING_SLABS ? FIRST_SLAB_BLOCKS << index : BLOCKS_PER_SLAB;
  }

  private int next(int block) {
    return slab(block).getInt(offset(block));
  }

  private void link(int block, int next) {
    slab(block).putInt(offset(block), next);
  }
}
