/**
 * The Java half of libonce.so. It has no Java API: libonce.so calls its package-private bridge
 * through JNI (see {@code once.h} and docs/NATIVE.md).
 */
module dev.once.nativelib {
  requires dev.once.core;
}
