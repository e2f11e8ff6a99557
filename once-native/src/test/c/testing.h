/*
 * A small test harness for the C programs of once-native: CHECK macros that count and report
 * failures with file and line, a case table run by name (each case in its own process, since a
 * process has one library state and one JVM), a barrier for race tests, and a probe of the JVM's
 * threads through JNI (test code only: the library itself has no debug hooks).
 */
#ifndef ONCE_TESTING_H
#define ONCE_TESTING_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <jni.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int testing_checks;
static int testing_failures;

#define CHECK(condition)                                                                   \
  do {                                                                                     \
    testing_checks++;                                                                      \
    if (!(condition)) {                                                                    \
      testing_failures++;                                                                  \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition);        \
    }                                                                                      \
  } while (0)

#define CHECK_EQ(actual, expected)                                                         \
  do {                                                                                     \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                        \
    testing_checks++;                                                                      \
    if (a_ != e_) {                                                                        \
      testing_failures++;                                                                  \
      fprintf(stderr, "%s:%d: %s was %lld, expected %s (%lld)\n", __FILE__, __LINE__,      \
              #actual, a_, #expected, e_);                                                 \
    }                                                                                      \
  } while (0)

#define CHECK_STR(actual, expected)                                                        \
  do {                                                                                     \
    const char *a_ = (actual), *e_ = (expected);                                           \
    testing_checks++;                                                                      \
    if (a_ == NULL || strcmp(a_, e_) != 0) {                                               \
      testing_failures++;                                                                  \
      fprintf(stderr, "%s:%d: %s was \"%s\", expected \"%s\"\n", __FILE__, __LINE__,       \
              #actual, a_ == NULL ? "(null)" : a_, e_);                                    \
    }                                                                                      \
  } while (0)

typedef struct test_case {
  const char *name;
  void (*run)(void);
} test_case;

/* Runs the case named by argv[1]; prints "N passed, M failed" and exits 0 only if none failed. */
static int testing_main(int argc, char **argv, const test_case *cases, size_t count) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s CASE\ncases:", argv[0]);
    for (size_t i = 0; i < count; i++) {
      fprintf(stderr, " %s", cases[i].name);
    }
    fprintf(stderr, "\n");
    return 2;
  }
  for (size_t i = 0; i < count; i++) {
    if (strcmp(cases[i].name, argv[1]) == 0) {
      cases[i].run();
      printf("%s: %d passed, %d failed\n", argv[1], testing_checks - testing_failures,
             testing_failures);
      fflush(stdout);
      return testing_failures == 0 && testing_checks > 0 ? 0 : 1;
    }
  }
  fprintf(stderr, "no case %s\n", argv[1]);
  return 2;
}

static void sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0) {
  }
}

/* The JVM libonce.so runs (it loads libjvm.so with RTLD_GLOBAL, so its symbols are visible). */
static JavaVM *testing_vm(void) {
  typedef jint (*get_vms_fn)(JavaVM **, jsize, jsize *);
  get_vms_fn get_vms = (get_vms_fn)dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs");
  JavaVM *vm = NULL;
  jsize n = 0;
  if (get_vms == NULL || get_vms(&vm, 1, &n) != JNI_OK || n != 1) {
    return NULL;
  }
  return vm;
}

/* The number of live Java threads whose name is name (-1 if it cannot tell). Attaches the
 * calling thread if it must, and detaches it again, so it counts nothing of its own. */
static int testing_java_threads_named(const char *name) {
  JavaVM *vm = testing_vm();
  if (vm == NULL) {
    return -1;
  }
  JNIEnv *env;
  int attached = 0;
  if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) == JNI_EDETACHED) {
    JavaVMAttachArgs args = {JNI_VERSION_1_8, "testing-probe", NULL};
    if ((*vm)->AttachCurrentThread(vm, (void **)&env, &args) != JNI_OK) {
      return -1;
    }
    attached = 1;
  }
  int count = -1;
  if ((*env)->PushLocalFrame(env, 64) == 0) {
    jclass thread = (*env)->FindClass(env, "java/lang/Thread");
    jmethodID all = (*env)->GetStaticMethodID(env, thread, "getAllStackTraces", "()Ljava/util/Map;");
    jmethodID get_name = (*env)->GetMethodID(env, thread, "getName", "()Ljava/lang/String;");
    jclass map = (*env)->FindClass(env, "java/util/Map");
    jmethodID key_set = (*env)->GetMethodID(env, map, "keySet", "()Ljava/util/Set;");
    jclass set = (*env)->FindClass(env, "java/util/Set");
    jmethodID to_array = (*env)->GetMethodID(env, set, "toArray", "()[Ljava/lang/Object;");
    jobject threads = (*env)->CallStaticObjectMethod(env, thread, all);
    jobject keys = (*env)->CallObjectMethod(env, threads, key_set);
    jobjectArray array = (*env)->CallObjectMethod(env, keys, to_array);
    if (!(*env)->ExceptionCheck(env) && array != NULL) {
      count = 0;
      jsize n = (*env)->GetArrayLength(env, array);
      for (jsize i = 0; i < n; i++) {
        jobject t = (*env)->GetObjectArrayElement(env, array, i);
        jstring s = (*env)->CallObjectMethod(env, t, get_name);
        const char *chars = (*env)->GetStringUTFChars(env, s, NULL);
        if (chars != NULL && strcmp(chars, name) == 0) {
          count++;
        }
        (*env)->ReleaseStringUTFChars(env, s, chars);
        (*env)->DeleteLocalRef(env, s);
        (*env)->DeleteLocalRef(env, t);
      }
    }
    (*env)->ExceptionClear(env);
    (*env)->PopLocalFrame(env, NULL);
  }
  if (attached) {
    (*vm)->DetachCurrentThread(vm);
  }
  return count;
}

/* The number of threads of this process. */
static int testing_process_threads(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int threads = -1;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "Threads: %d", &threads) == 1) {
      break;
    }
  }
  if (f != NULL) {
    fclose(f);
  }
  return threads;
}

#endif /* ONCE_TESTING_H */
