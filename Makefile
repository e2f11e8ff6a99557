# Shortcuts; the build itself is Maven's (mvn -B -ntp verify builds and tests everything).

# ---- the C library (once-native): see docs/NATIVE.md ----------------------------------------
.PHONY: c-shared c-test c-bench

# once-native/target/libonce.so, once.h and libonce.jar (the jar the library loads)
c-shared:
	mvn -B -ntp -q -pl once-native -am package -DskipTests

# the C tests (and the module's Java tests)
c-test:
	mvn -B -ntp -pl once-native -am verify

# ns per call of once_check hits and once_lock/once_unlock pairs, from 1 and 4 threads
c-bench: c-shared
	$(MAKE) -C once-native bench
