/*
 * libonce.so: the C API of once.h over the once engine, through an embedded JVM (the libhdfs
 * pattern: one implementation of the logic, in Java).
 *
 * Design.
 *   Library state: NEW -> READY (once_open succeeded) -> DESTROYED (once_destroy), kept in one
 *   atomic int. once_open and once_destroy change it under a mutex; every other call only reads
 *   it (acquire), so the JVM pointer, the bridge class and its method ids, written before READY is
 *   published (release), are seen complete. They are never freed: a call that passed the check
 *   just before once_destroy still finds them valid, and the Java side answers ONCE_ERR_STATE.
 *   A failed once_open leaves the state NEW, so it can be tried again.
 *
 *   Threads. A thread's first call attaches it to the JVM as a daemon (unless the host attached
 *   it) and registers a thread_state under a pthread key whose destructor detaches the thread
 *   when it exits. thread_state holds the thread's I/O buffer: malloc'd memory that the JVM sees
 *   as a direct ByteBuffer, through which every call passes its inputs and gets its outputs, so a
 *   call costs one JNI upcall and two memcpy's, no Java object made in C. For threads the library
 *   attached, the ByteBuffer object is created once and kept as a global reference; for threads
 *   the host attached, one is made per call (the library cannot rely on being attached to delete
 *   a global reference when such a thread exits). The layout of the buffer is the bridge's
 *   protocol, see NativeBridge.java; its constants are mirrored here.
 *
 *   Errors. Arguments are checked here, before the JVM is touched. A Java exception that escapes
 *   the bridge (it catches everything, so only an error while entering Java) is cleared and
 *   becomes ONCE_ERR_NOMEM or ONCE_ERR_JVM. An exception the host had pending on its own thread is
 *   set aside for the call and thrown again after it.
 */
#define _GNU_SOURCE
#include "once.h"
#include "duration.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <jni.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

#ifndef ONCE_BUILD_JAVA_HOME
#define ONCE_BUILD_JAVA_HOME ""
#endif

#define BRIDGE_CLASS "dev/once/nativelib/NativeBridge"
#define BRIDGE_BINARY_NAME "dev.once.nativelib.NativeBridge"
#define BRIDGE_VERSION 2

/* NativeBridge's protocol */
#define GROW (-100)
#define OUT_STATUS 0
#define OUT_REPLAYABLE 4
#define OUT_BODY_LEN 8
#define OUT_HEADERS_LEN 12
#define OUT_HEADER_COUNT 16
#define OUT_COPIED 20
#define OUT_NEED 24
#define OUT_TOKEN 32
#define HEADER 64

#define IO_DEFAULT ((size_t)16 * 1024)
#define IO_KEEP ((size_t)1024 * 1024)
#define MAX_GROWS 4
#define MAX_LEASE_SECONDS 31536000L
#define DEFAULT_LEASE_SECONDS 60L
#define MAX_URL_SIZE 4096

enum { LIB_NEW, LIB_READY, LIB_DESTROYED };

static pthread_mutex_t lifecycle = PTHREAD_MUTEX_INITIALIZER;
static atomic_int lib_state = LIB_NEW;
static JavaVM *vm;
static jclass bridge;
static jclass oom_class;
static char *open_url;
static int jvm_joined;
static struct {
  jmethodID version, open, close, check, store, lock, unlock, fingerprint, claim, lookup,
      complete, complete_unknown, release, renew;
} m;

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static int thread_key_made;

typedef struct thread_state {
  unsigned char *mem;
  size_t cap;
  jobject buffer; /* global ref to a direct ByteBuffer over mem; threads the library attached */
  int attached;   /* the library attached this thread: it detaches it at exit */
} thread_state;

typedef struct call {
  JNIEnv *env;
  thread_state *ts;
  jobject io;          /* this call's ByteBuffer over ts->mem */
  int io_local;        /* io is a local reference, deleted when the call ends */
  jthrowable pending;  /* the host's pending exception, thrown again when the call ends */
  int escaped;         /* the last invoke ended in an exception, not in a code from the bridge */
} call;

/* ---- small helpers ---------------------------------------------------------------------- */

static void say(char *error, size_t cap, const char *format, ...) {
  if (error == NULL || cap == 0) {
    return;
  }
  va_list args;
  va_start(args, format);
  vsnprintf(error, cap, format, args);
  va_end(args);
}

static int32_t read_int(const unsigned char *mem, size_t offset) {
  int32_t value;
  memcpy(&value, mem + offset, sizeof value);
  return value;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (n - i < len) {
      return 0;
    }
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return 0;
      }
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return 0;
    }
    i += len;
  }
  return 1;
}

/* A NUL-terminated UTF-8 string of 1 to max bytes (0 to max when empty_ok). */
static int check_string(const char *s, size_t max, int empty_ok, size_t *length) {
  if (s == NULL) {
    return ONCE_ERR_ARG;
  }
  size_t n = strnlen(s, max + 1);
  if ((n == 0 && !empty_ok) || n > max || !utf8_valid((const unsigned char *)s, n)) {
    return ONCE_ERR_ARG;
  }
  *length = n;
  return 0;
}

static int check_key(const char *key, size_t *length) {
  return check_string(key, ONCE_MAX_KEY_SIZE, 0, length);
}

static int check_response(const once_response *response) {
  if (response != NULL && ((response->body == NULL && response->body_cap > 0) ||
                           (response->headers == NULL && response->headers_cap > 0))) {
    return ONCE_ERR_ARG;
  }
  return 0;
}

static int ready(void) {
  return atomic_load_explicit(&lib_state, memory_order_acquire) == LIB_READY ? 0 : ONCE_ERR_STATE;
}

/* ---- threads ----------------------------------------------------------------------------- */

static void thread_exit(void *value) {
  thread_state *ts = value;
  if (ts->attached && vm != NULL) {
    JNIEnv *env;
    /* a thread the host detached behind the library's back is left alone */
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) == JNI_OK) {
      if (ts->buffer != NULL) {
        (*env)->DeleteGlobalRef(env, ts->buffer);
      }
      (*vm)->DetachCurrentThread(vm);
    }
  }
  free(ts->mem);
  free(ts);
}

static void make_thread_key(void) {
  thread_key_made = pthread_key_create(&thread_key, thread_exit) == 0;
}

/* Attaches the calling thread if it is not, and sets the call up. */
static int enter(call *c) {
  memset(c, 0, sizeof *c);
  JNIEnv *env = NULL;
  int attached_now = 0;
  jint rc = (*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8);
  if (rc == JNI_EDETACHED) {
    JavaVMAttachArgs args = {JNI_VERSION_1_8, "libonce", NULL};
    if ((*vm)->AttachCurrentThreadAsDaemon(vm, (void **)&env, &args) != JNI_OK) {
      return ONCE_ERR_JVM;
    }
    attached_now = 1;
  } else if (rc != JNI_OK) {
    return ONCE_ERR_JVM;
  }
  thread_state *ts = pthread_getspecific(thread_key);
  if (ts == NULL) {
    ts = calloc(1, sizeof *ts);
    if (ts == NULL || pthread_setspecific(thread_key, ts) != 0) {
      free(ts);
      if (attached_now) {
        (*vm)->DetachCurrentThread(vm);
      }
      return ONCE_ERR_NOMEM;
    }
  }
  if (attached_now) {
    ts->attached = 1;
  }
  c->env = env;
  c->ts = ts;
  if ((*env)->ExceptionCheck(env)) {
    c->pending = (*env)->ExceptionOccurred(env);
    (*env)->ExceptionClear(env);
  }
  return 0;
}

static void drop_buffer(call *c) {
  JNIEnv *env = c->env;
  if (c->io_local && c->io != NULL) {
    (*env)->DeleteLocalRef(env, c->io);
  }
  c->io = NULL;
  c->io_local = 0;
  if (c->ts->buffer != NULL) {
    (*env)->DeleteGlobalRef(env, c->ts->buffer);
    c->ts->buffer = NULL;
  }
}

/* Makes the thread's buffer hold at least need bytes (its content is not kept when it grows). */
static int reserve(call *c, size_t need) {
  JNIEnv *env = c->env;
  thread_state *ts = c->ts;
  if (need < IO_DEFAULT) {
    need = IO_DEFAULT;
  }
  if (need > (size_t)INT_MAX) {
    return ONCE_ERR_NOMEM;
  }
  if (ts->mem == NULL || ts->cap < need) {
    drop_buffer(c);
    free(ts->mem);
    ts->cap = 0;
    ts->mem = malloc(need);
    if (ts->mem == NULL) {
      return ONCE_ERR_NOMEM;
    }
    ts->cap = need;
  }
  if (c->io != NULL) {
    return 0;
  }
  if (ts->attached && ts->buffer != NULL) {
    c->io = ts->buffer;
    return 0;
  }
  jobject local = (*env)->NewDirectByteBuffer(env, ts->mem, (jlong)ts->cap);
  if (local == NULL) {
    (*env)->ExceptionClear(env);
    return ONCE_ERR_NOMEM;
  }
  if (!ts->attached) {
    c->io = local;
    c->io_local = 1;
    return 0;
  }
  ts->buffer = (*env)->NewGlobalRef(env, local);
  (*env)->DeleteLocalRef(env, local);
  if (ts->buffer == NULL) {
    return ONCE_ERR_NOMEM;
  }
  c->io = ts->buffer;
  return 0;
}

/* reserve, then puts the first input, len bytes at first (the key, or the URL), at the start. */
static int reserve_first(call *c, size_t need, const void *first, size_t len) {
  int rc = reserve(c, need);
  if (rc == 0) {
    memcpy(c->ts->mem, first, len);
  }
  return rc;
}

/* Enters the JVM for a call whose arguments passed their checks (rc is 0); else returns rc. */
static int begin(call *c, int rc) {
  return rc != 0 ? rc : enter(c);
}

static void leave(call *c) {
  JNIEnv *env = c->env;
  if (env == NULL) {
    return;
  }
  if (c->io_local && c->io != NULL) {
    (*env)->DeleteLocalRef(env, c->io);
    c->io = NULL;
    c->io_local = 0;
  }
  if (c->ts->cap > IO_KEEP) {
    /* one large call must not pin its buffer for the thread's lifetime */
    drop_buffer(c);
    free(c->ts->mem);
    c->ts->mem = NULL;
    c->ts->cap = 0;
  }
  if (c->pending != NULL) {
    (*env)->Throw(env, c->pending);
    (*env)->DeleteLocalRef(env, c->pending);
  }
}

/* The code for an exception that escaped into C, cleared. */
static int escaped(JNIEnv *env) {
  jthrowable thrown = (*env)->ExceptionOccurred(env);
  (*env)->ExceptionClear(env);
  int code = ONCE_ERR_JVM;
  if (thrown != NULL) {
    if (oom_class != NULL && (*env)->IsInstanceOf(env, thrown, oom_class)) {
      code = ONCE_ERR_NOMEM;
    }
    (*env)->DeleteLocalRef(env, thrown);
  }
  return code;
}

static int invoke(call *c, jmethodID method, ...) {
  JNIEnv *env = c->env;
  va_list args;
  va_start(args, method);
  jint result = (*env)->CallStaticIntMethodV(env, bridge, method, args);
  va_end(args);
  c->escaped = (*env)->ExceptionCheck(env);
  return c->escaped ? escaped(env) : result;
}

/* ---- starting the JVM -------------------------------------------------------------------- */

typedef struct strings {
  char **v;
  size_t n;
  size_t cap;
} strings;

static void strings_free(strings *list) {
  for (size_t i = 0; i < list->n; i++) {
    free(list->v[i]);
  }
  free(list->v);
  memset(list, 0, sizeof *list);
}

static int strings_add(strings *list, const char *s, size_t n) {
  if (list->n == list->cap) {
    size_t cap = list->cap == 0 ? 8 : list->cap * 2;
    char **v = realloc(list->v, cap * sizeof *v);
    if (v == NULL) {
      return ONCE_ERR_NOMEM;
    }
    list->v = v;
    list->cap = cap;
  }
  char *copy = strndup(s, n);
  if (copy == NULL) {
    return ONCE_ERR_NOMEM;
  }
  list->v[list->n++] = copy;
  return 0;
}

static int is_jar(const struct dirent *entry) {
  size_t n = strlen(entry->d_name);
  return n > 4 && strcmp(entry->d_name + n - 4, ".jar") == 0;
}

/* Adds every .jar in dir, in name order; a missing dir adds nothing when optional. */
static int add_jars(strings *list, const char *dir, int optional, char *error, size_t cap) {
  struct dirent **entries;
  int n = scandir(dir, &entries, is_jar, alphasort);
  if (n < 0) {
    if (optional && errno == ENOENT) {
      return 0;
    }
    say(error, cap, "cannot list the jars in %s: %s", dir, strerror(errno));
    return ONCE_ERR_JVM;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/%s", dir, entries[i]->d_name);
    if (rc == 0 && len > 0 && (size_t)len < sizeof path) {
      rc = strings_add(list, path, (size_t)len);
    }
    free(entries[i]);
  }
  free(entries);
  return rc;
}

/* The class path: ONCE_CLASSPATH, or libonce.jar and libonce.d/ next to this library. */
static int class_path(strings *list, char *error, size_t cap) {
  const char *configured = getenv("ONCE_CLASSPATH");
  if (configured != NULL && *configured != '\0') {
    const char *p = configured;
    while (*p != '\0') {
      const char *end = strchr(p, ':');
      size_t n = end == NULL ? strlen(p) : (size_t)(end - p);
      int rc = 0;
      if (n == 1 && p[0] == '*') {
        rc = add_jars(list, ".", 0, error, cap);
      } else if (n >= 2 && p[n - 2] == '/' && p[n - 1] == '*') {
        char *dir = strndup(p, n - 2);
        rc = dir == NULL ? ONCE_ERR_NOMEM : add_jars(list, dir, 0, error, cap);
        free(dir);
      } else if (n > 0) {
        rc = strings_add(list, p, n);
      }
      if (rc != 0) {
        return rc;
      }
      p += n;
      if (*p == ':') {
        p++;
      }
    }
    if (list->n == 0) {
      say(error, cap, "ONCE_CLASSPATH (\"%s\") names no jar", configured);
      return ONCE_ERR_JVM;
    }
    return 0;
  }
  Dl_info info;
  char self_path[PATH_MAX];
  if (dladdr((void *)&once_open, &info) == 0 || info.dli_fname == NULL ||
      realpath(info.dli_fname, self_path) == NULL) {
    say(error, cap, "cannot tell where libonce.so is (dladdr); set ONCE_CLASSPATH");
    return ONCE_ERR_JVM;
  }
  char *slash = strrchr(self_path, '/');
  if (slash != NULL) {
    *slash = '\0';
  }
  char jar[PATH_MAX + 16];
  snprintf(jar, sizeof jar, "%s/libonce.jar", self_path);
  if (access(jar, R_OK) != 0) {
    say(error, cap, "cannot read %s (libonce.jar must be next to libonce.so, or set ONCE_CLASSPATH): %s",
        jar, strerror(errno));
    return ONCE_ERR_JVM;
  }
  int rc = strings_add(list, jar, strlen(jar));
  if (rc == 0) {
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/libonce.d", self_path);
    rc = add_jars(list, dir, 1, error, cap);
  }
  return rc;
}

static char *joined_path(const strings *list) {
  size_t n = 1;
  for (size_t i = 0; i < list->n; i++) {
    n += strlen(list->v[i]) + 1;
  }
  char *s = malloc(n);
  if (s == NULL) {
    return NULL;
  }
  s[0] = '\0';
  for (size_t i = 0; i < list->n; i++) {
    if (i > 0) {
      strcat(s, ":");
    }
    strcat(s, list->v[i]);
  }
  return s;
}

typedef jint(JNICALL *get_vms_fn)(JavaVM **, jsize, jsize *);
typedef jint(JNICALL *create_vm_fn)(JavaVM **, void **, void *);

typedef struct creation {
  create_vm_fn create;
  JavaVMInitArgs args;
  JavaVM *vm;
  jint rc;
} creation;

/* The JVM is created on a thread of its own: not the caller's (maybe the process's primordial
 * thread, which the JVM supports badly), with a known stack size; the thread detaches and ends. */
static void *create_vm_thread(void *arg) {
  creation *cr = arg;
  JNIEnv *env;
  cr->rc = cr->create(&cr->vm, (void **)&env, &cr->args);
  if (cr->rc == JNI_OK) {
    (*cr->vm)->DetachCurrentThread(cr->vm);
  }
  return NULL;
}

static int existing_vm(get_vms_fn get_vms) {
  JavaVM *found = NULL;
  jsize count = 0;
  if (get_vms != NULL && get_vms(&found, 1, &count) == JNI_OK && count > 0 && found != NULL) {
    vm = found;
    jvm_joined = 1;
    return 1;
  }
  return 0;
}

static int create_vm(create_vm_fn create, char *error, size_t cap) {
  strings cp = {0};
  strings options = {0};
  char *path = NULL;
  char *extra = NULL;
  JavaVMOption *jvm_options = NULL;
  int rc = class_path(&cp, error, cap);
  if (rc != 0) {
    goto done;
  }
  path = joined_path(&cp);
  if (path == NULL) {
    rc = ONCE_ERR_NOMEM;
    goto done;
  }
  size_t option_len = strlen(path) + 32;
  char *class_path_option = malloc(option_len);
  if (class_path_option == NULL) {
    rc = ONCE_ERR_NOMEM;
    goto done;
  }
  snprintf(class_path_option, option_len, "-Djava.class.path=%s", path);
  rc = strings_add(&options, class_path_option, strlen(class_path_option));
  free(class_path_option);
  if (rc == 0) {
    rc = strings_add(&options, "-Xrs", 4);
  }
  const char *configured = getenv("ONCE_JVM_OPTIONS");
  if (rc == 0 && configured != NULL) {
    extra = strdup(configured);
    if (extra == NULL) {
      rc = ONCE_ERR_NOMEM;
    }
    char *save = NULL;
    for (char *t = extra == NULL ? NULL : strtok_r(extra, " \t\n", &save); rc == 0 && t != NULL;
         t = strtok_r(NULL, " \t\n", &save)) {
      rc = strings_add(&options, t, strlen(t));
    }
  }
  if (rc != 0) {
    goto done;
  }
  jvm_options = calloc(options.n, sizeof *jvm_options);
  if (jvm_options == NULL) {
    rc = ONCE_ERR_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < options.n; i++) {
    jvm_options[i].optionString = options.v[i];
  }
  creation cr = {0};
  cr.create = create;
  cr.args.version = JNI_VERSION_1_8;
  cr.args.nOptions = (jint)options.n;
  cr.args.options = jvm_options;
  cr.args.ignoreUnrecognized = JNI_FALSE;
  pthread_attr_t attr;
  pthread_t thread;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)8 << 20);
  int started = pthread_create(&thread, &attr, create_vm_thread, &cr);
  pthread_attr_destroy(&attr);
  if (started != 0) {
    say(error, cap, "cannot start a thread to create the JVM: %s", strerror(started));
    rc = ONCE_ERR_NOMEM;
    goto done;
  }
  pthread_join(thread, NULL);
  if (cr.rc != JNI_OK) {
    /* the options first: a class path with libonce.d/ in it is long, and a message cut to the
     * caller's buffer must still show the option the JVM most likely refused */
    say(error, cap, "JNI_CreateJavaVM failed (%d) with options -Xrs %s and class path %s", (int)cr.rc,
        configured == NULL ? "" : configured, path);
    rc = ONCE_ERR_JVM;
    goto done;
  }
  vm = cr.vm;
  jvm_joined = 0;
done:
  free(jvm_options);
  free(extra);
  free(path);
  strings_free(&options);
  strings_free(&cp);
  return rc;
}

/* Joins the process's JVM, or loads libjvm.so and creates one. */
static int start_jvm(char *error, size_t cap) {
  if (existing_vm((get_vms_fn)dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs"))) {
    return 0;
  }
  const char *home = getenv("JAVA_HOME");
  const char *from = "JAVA_HOME";
  if (home == NULL || *home == '\0') {
    home = ONCE_BUILD_JAVA_HOME;
    from = "the JDK libonce.so was built with";
  }
  if (*home == '\0') {
    say(error, cap, "no JVM: JAVA_HOME is not set and libonce.so was built without a JDK path");
    return ONCE_ERR_JVM;
  }
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/lib/server/libjvm.so", home);
  void *lib = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (lib == NULL) {
    say(error, cap, "cannot load %s (%s): %s; set JAVA_HOME to a JDK 17 or newer", path, from,
        dlerror());
    return ONCE_ERR_JVM;
  }
  if (existing_vm((get_vms_fn)dlsym(lib, "JNI_GetCreatedJavaVMs"))) {
    return 0;
  }
  create_vm_fn create = (create_vm_fn)dlsym(lib, "JNI_CreateJavaVM");
  if (create == NULL) {
    say(error, cap, "%s has no JNI_CreateJavaVM", path);
    return ONCE_ERR_JVM;
  }
  return create_vm(create, error, cap);
}

/* In a JVM the library joined, its jars are not on the class path: load them with a class loader
 * of their own (whose parent is the system class loader). Returns a local ref, or NULL. */
static jclass load_in_joined_vm(JNIEnv *env, char *error, size_t cap) {
  strings cp = {0};
  jclass result = NULL;
  if (class_path(&cp, error, cap) != 0) {
    return NULL;
  }
  if ((*env)->PushLocalFrame(env, (jint)(cp.n + 16)) != 0) {
    (*env)->ExceptionClear(env);
    strings_free(&cp);
    return NULL;
  }
  jclass file_class = (*env)->FindClass(env, "java/io/File");
  jclass uri_class = (*env)->FindClass(env, "java/net/URI");
  jclass url_class = (*env)->FindClass(env, "java/net/URL");
  jclass loader_class = (*env)->FindClass(env, "java/lang/ClassLoader");
  jclass url_loader_class = (*env)->FindClass(env, "java/net/URLClassLoader");
  if ((*env)->ExceptionCheck(env)) {
    goto failed;
  }
  jmethodID file_new = (*env)->GetMethodID(env, file_class, "<init>", "(Ljava/lang/String;)V");
  jmethodID to_uri = (*env)->GetMethodID(env, file_class, "toURI", "()Ljava/net/URI;");
  jmethodID to_url = (*env)->GetMethodID(env, uri_class, "toURL", "()Ljava/net/URL;");
  jmethodID system_loader = (*env)->GetStaticMethodID(env, loader_class, "getSystemClassLoader",
                                                      "()Ljava/lang/ClassLoader;");
  jmethodID loader_new = (*env)->GetMethodID(env, url_loader_class, "<init>",
                                             "([Ljava/net/URL;Ljava/lang/ClassLoader;)V");
  jmethodID load_class = (*env)->GetMethodID(env, loader_class, "loadClass",
                                             "(Ljava/lang/String;)Ljava/lang/Class;");
  if ((*env)->ExceptionCheck(env)) {
    goto failed;
  }
  jobjectArray urls = (*env)->NewObjectArray(env, (jsize)cp.n, url_class, NULL);
  for (size_t i = 0; urls != NULL && i < cp.n; i++) {
    jstring name = (*env)->NewStringUTF(env, cp.v[i]);
    jobject file = name == NULL ? NULL : (*env)->NewObject(env, file_class, file_new, name);
    jobject uri = file == NULL ? NULL : (*env)->CallObjectMethod(env, file, to_uri);
    jobject url = uri == NULL ? NULL : (*env)->CallObjectMethod(env, uri, to_url);
    if (url == NULL || (*env)->ExceptionCheck(env)) {
      goto failed;
    }
    (*env)->SetObjectArrayElement(env, urls, (jsize)i, url);
  }
  jobject parent = (*env)->CallStaticObjectMethod(env, loader_class, system_loader);
  jobject loader = (*env)->ExceptionCheck(env) || urls == NULL
                       ? NULL
                       : (*env)->NewObject(env, url_loader_class, loader_new, urls, parent);
  jstring name = loader == NULL ? NULL : (*env)->NewStringUTF(env, BRIDGE_BINARY_NAME);
  jobject loaded = name == NULL ? NULL : (*env)->CallObjectMethod(env, loader, load_class, name);
  if (loaded == NULL || (*env)->ExceptionCheck(env)) {
    goto failed;
  }
  result = (*env)->PopLocalFrame(env, loaded);
  strings_free(&cp);
  return result;
failed:
  (*env)->ExceptionClear(env);
  (*env)->PopLocalFrame(env, NULL);
  {
    char *path = joined_path(&cp);
    say(error, cap, "class %s not found in the joined JVM with class path %s", BRIDGE_BINARY_NAME,
        path == NULL ? "?" : path);
    free(path);
  }
  strings_free(&cp);
  return NULL;
}

static int find_methods(JNIEnv *env, char *error, size_t cap) {
  static const struct {
    jmethodID *id;
    const char *name;
    const char *signature;
  } methods[] = {
      {&m.version, "version", "()I"},
      {&m.open, "open", "(Ljava/nio/ByteBuffer;IJ)I"},
      {&m.close, "close", "()I"},
      {&m.check, "check", "(Ljava/nio/ByteBuffer;II)I"},
      {&m.store, "store", "(Ljava/nio/ByteBuffer;IIIJ)I"},
      {&m.lock, "lock", "(Ljava/nio/ByteBuffer;I)I"},
      {&m.unlock, "unlock", "(I)I"},
      {&m.fingerprint, "fingerprint", "(Ljava/nio/ByteBuffer;IIII)I"},
      {&m.claim, "claim", "(Ljava/nio/ByteBuffer;IIJII)I"},
      {&m.lookup, "lookup", "(Ljava/nio/ByteBuffer;III)I"},
      {&m.complete, "complete", "(Ljava/nio/ByteBuffer;IIIIJ)I"},
      {&m.complete_unknown, "completeUnknown", "(Ljava/nio/ByteBuffer;IJ)I"},
      {&m.release, "release", "(Ljava/nio/ByteBuffer;I)I"},
      {&m.renew, "renew", "(Ljava/nio/ByteBuffer;IJ)I"},
  };
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    *methods[i].id = (*env)->GetStaticMethodID(env, bridge, methods[i].name, methods[i].signature);
    if (*methods[i].id == NULL) {
      (*env)->ExceptionClear(env);
      say(error, cap, "libonce.jar does not match libonce.so: no method %s%s in %s",
          methods[i].name, methods[i].signature, BRIDGE_BINARY_NAME);
      return ONCE_ERR_JVM;
    }
  }
  jint version = (*env)->CallStaticIntMethod(env, bridge, m.version);
  if ((*env)->ExceptionCheck(env)) {
    (*env)->ExceptionClear(env);
    say(error, cap, "%s could not be initialized", BRIDGE_BINARY_NAME);
    return ONCE_ERR_JVM;
  }
  if (version != BRIDGE_VERSION) {
    say(error, cap, "libonce.jar speaks bridge version %d, libonce.so version %d: use the jar built "
        "with this library", (int)version, BRIDGE_VERSION);
    return ONCE_ERR_JVM;
  }
  return 0;
}

static int load_bridge(char *error, size_t cap) {
  call c;
  int rc = enter(&c);
  if (rc != 0) {
    say(error, cap, "cannot attach to the JVM");
    return rc;
  }
  JNIEnv *env = c.env;
  jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
  if (oom != NULL) {
    oom_class = (*env)->NewGlobalRef(env, oom);
    (*env)->DeleteLocalRef(env, oom);
  }
  (*env)->ExceptionClear(env);
  jclass local = (*env)->FindClass(env, BRIDGE_CLASS);
  if (local == NULL) {
    (*env)->ExceptionClear(env);
    if (jvm_joined) {
      local = load_in_joined_vm(env, error, cap);
    } else {
      say(error, cap, "class %s not found: is libonce.jar on the class path (ONCE_CLASSPATH)?",
          BRIDGE_BINARY_NAME);
    }
  }
  if (local == NULL) {
    leave(&c);
    return ONCE_ERR_JVM;
  }
  bridge = (*env)->NewGlobalRef(env, local);
  (*env)->DeleteLocalRef(env, local);
  rc = bridge == NULL ? ONCE_ERR_NOMEM : find_methods(env, error, cap);
  if (rc != 0 && bridge != NULL) {
    (*env)->DeleteGlobalRef(env, bridge);
    bridge = NULL;
  }
  leave(&c);
  return rc;
}

/*
 * The lease, in milliseconds: ONCE_LEASE (a duration: 60s, 1m30s, PT90S), else the older
 * ONCE_LEASE_SECONDS (a whole number of seconds), else 60 seconds; from 1 second to 365 days.
 */
static int lease_millis(long long *millis, char *error, size_t cap) {
  const char *text = getenv("ONCE_LEASE");
  *millis = DEFAULT_LEASE_SECONDS * 1000;
  if (text != NULL && *text != '\0') {
    long long value = 0;
    switch (duration_parse(text, &value)) {
      case DURATION_OK:
        break;
      case DURATION_NEGATIVE:
        say(error, cap, "ONCE_LEASE: \"%s\" is negative", text);
        return ONCE_ERR_ARG;
      case DURATION_TOO_LONG:
        say(error, cap, "ONCE_LEASE: \"%s\" is too long a duration", text);
        return ONCE_ERR_ARG;
      default:
        say(error, cap, "ONCE_LEASE: \"%s\" is not a duration (" DURATION_FORMS ")", text);
        return ONCE_ERR_ARG;
    }
    if (value < 1000 || value > MAX_LEASE_SECONDS * 1000) {
      say(error, cap, "ONCE_LEASE must be from 1s to 365d, but was \"%s\"", text);
      return ONCE_ERR_ARG;
    }
    *millis = value;
    return 0;
  }
  text = getenv("ONCE_LEASE_SECONDS");
  if (text == NULL || *text == '\0') {
    return 0;
  }
  char *end;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || text[0] < '0' || text[0] > '9' || value < 1 ||
      value > MAX_LEASE_SECONDS) {
    say(error, cap, "ONCE_LEASE_SECONDS must be a whole number of seconds from 1 to %ld, but was"
        " \"%s\" (or set ONCE_LEASE, a duration such as 60s)", MAX_LEASE_SECONDS, text);
    return ONCE_ERR_ARG;
  }
  *millis = (long long)value * 1000;
  return 0;
}

static int open_store(const char *url, size_t url_len, long long lease_ms, char *error,
                      size_t cap) {
  call c;
  int rc = enter(&c);
  if (rc != 0) {
    say(error, cap, "cannot attach to the JVM");
    return rc;
  }
  rc = reserve_first(&c, url_len, url, url_len);
  if (rc == 0) {
    rc = invoke(&c, m.open, c.io, (jint)url_len, (jlong)lease_ms);
    if (rc < 0 && c.escaped) {
      say(error, cap, "cannot open the store \"%s\": the JVM failed (%s)", url,
          once_strerror(rc));
    } else if (rc < 0) {
      size_t n = (size_t)read_int(c.ts->mem, OUT_BODY_LEN);
      if (n > c.ts->cap - HEADER) {
        n = 0;
      }
      say(error, cap, "cannot open the store \"%s\": %.*s", url, (int)n,
          (const char *)c.ts->mem + HEADER);
    }
  }
  leave(&c);
  return rc;
}

/* ---- the seed's API ---------------------------------------------------------------------- */

API int once_open(const char *url, char *error, size_t error_cap) {
  if (error == NULL && error_cap > 0) {
    return ONCE_ERR_ARG;
  }
  say(error, error_cap, "%s", "");
  const char *name = url != NULL ? url : getenv("ONCE_STORE");
  if (name == NULL || *name == '\0') {
    name = "memory";
  }
  size_t name_len;
  if (check_string(name, MAX_URL_SIZE, 0, &name_len) != 0) {
    say(error, error_cap, "the store URL must be UTF-8 of at most %d bytes", MAX_URL_SIZE);
    return ONCE_ERR_ARG;
  }
  pthread_once(&thread_key_once, make_thread_key);
  if (!thread_key_made) {
    say(error, error_cap, "cannot create a thread key");
    return ONCE_ERR_NOMEM;
  }
  pthread_mutex_lock(&lifecycle);
  int rc = 0;
  int state = atomic_load(&lib_state);
  if (state == LIB_DESTROYED) {
    say(error, error_cap, "the library was destroyed (once_destroy); it cannot be opened again");
    rc = ONCE_ERR_STATE;
  } else if (state == LIB_READY) {
    if (url != NULL && strcmp(url, open_url) != 0) {
      say(error, error_cap, "already open on \"%s\"", open_url);
      rc = ONCE_ERR_STATE;
    }
  } else {
    long long lease;
    rc = lease_millis(&lease, error, error_cap);
    if (rc == 0 && vm == NULL) {
      rc = start_jvm(error, error_cap);
    }
    if (rc == 0 && bridge == NULL) {
      rc = load_bridge(error, error_cap);
    }
    char *copy = NULL;
    if (rc == 0) {
      copy = strdup(name);
      rc = copy == NULL ? ONCE_ERR_NOMEM : open_store(name, name_len, lease, error, error_cap);
    }
    if (rc == 0) {
      open_url = copy;
      atomic_store_explicit(&lib_state, LIB_READY, memory_order_release);
    } else {
      free(copy);
    }
  }
  pthread_mutex_unlock(&lifecycle);
  return rc;
}

API void once_init(void) {
  char error[1024];
  int rc = once_open(NULL, error, sizeof error);
  if (rc < 0) {
    fprintf(stderr, "libonce: once_init failed: %s: %s\n", once_strerror(rc), error);
  }
}

API void once_destroy(void) {
  pthread_mutex_lock(&lifecycle);
  int was = atomic_exchange(&lib_state, LIB_DESTROYED);
  if (was == LIB_READY) {
    call c;
    if (enter(&c) == 0) {
      invoke(&c, m.close);
      leave(&c);
    }
  }
  pthread_mutex_unlock(&lifecycle);
}

API int once_check(char *key, char *response, int responseLen) {
  size_t key_len;
  int rc = ready();
  if (rc == 0) {
    rc = check_key(key, &key_len);
  }
  if (rc == 0 && (response == NULL || responseLen < 1)) {
    rc = ONCE_ERR_ARG;
  }
  if (rc == 0) {
    response[0] = '\0';
  }
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  size_t need = key_len;
  for (int tries = 0; tries < MAX_GROWS; tries++) {
    if ((rc = reserve_first(&c, need, key, key_len)) != 0) {
      break;
    }
    rc = invoke(&c, m.check, c.io, (jint)key_len, (jint)(responseLen - 1));
    if (rc == GROW) {
      need = (size_t)read_int(c.ts->mem, OUT_NEED);
      continue;
    }
    if (rc > 0) {
      size_t copied = (size_t)read_int(c.ts->mem, OUT_COPIED);
      memcpy(response, c.ts->mem + HEADER, copied);
      response[copied] = '\0';
    }
    break;
  }
  leave(&c);
  return rc == GROW ? ONCE_ERR_JVM : rc;
}

API int once_store(char *key, int statusCode, char *body, int bodyLen, int ttlSeconds) {
  size_t key_len;
  int rc = ready();
  if (rc == 0) {
    rc = check_key(key, &key_len);
  }
  if (rc == 0 && (statusCode < 100 || statusCode > 599 || bodyLen < 0 ||
                  (size_t)bodyLen > ONCE_MAX_BODY_SIZE || (body == NULL && bodyLen > 0) ||
                  ttlSeconds < 1)) {
    rc = ONCE_ERR_ARG;
  }
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  if ((rc = reserve_first(&c, key_len + (size_t)bodyLen, key, key_len)) == 0) {
    if (bodyLen > 0) {
      memcpy(c.ts->mem + key_len, body, (size_t)bodyLen);
    }
    rc = invoke(&c, m.store, c.io, (jint)key_len, (jint)statusCode, (jint)bodyLen,
                (jlong)ttlSeconds * 1000);
  }
  leave(&c);
  return rc;
}

API int once_lock(char *key) {
  size_t key_len;
  int rc = ready();
  if (rc == 0) {
    rc = check_key(key, &key_len);
  }
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  if ((rc = reserve_first(&c, key_len, key, key_len)) == 0) {
    rc = invoke(&c, m.lock, c.io, (jint)key_len);
  }
  leave(&c);
  return rc;
}

API void once_unlock(int lockId) {
  if (lockId <= 0 || ready() != 0) {
    return;
  }
  call c;
  if (enter(&c) == 0) {
    invoke(&c, m.unlock, (jint)lockId);
    leave(&c);
  }
}

/* ---- the extended API -------------------------------------------------------------------- */

API const char *once_strerror(int code) {
  switch (code) {
    case ONCE_ERR_ARG:
      return "ONCE_ERR_ARG: a bad argument";
    case ONCE_ERR_STATE:
      return "ONCE_ERR_STATE: the library is not open (once_init failed or was not called, or "
             "once_destroy was)";
    case ONCE_ERR_STORE:
      return "ONCE_ERR_STORE: the store failed";
    case ONCE_ERR_JVM:
      return "ONCE_ERR_JVM: no JVM, or the JVM failed the call";
    case ONCE_ERR_NOMEM:
      return "ONCE_ERR_NOMEM: out of memory";
    case ONCE_ERR_CONFLICT:
      return "ONCE_ERR_CONFLICT: another caller holds the key, or a response is already stored";
    default:
      return code >= 0 ? "not an error" : "an unknown error code";
  }
}

API int once_fingerprint(const char *method, const char *path, const char *query,
                         const void *body, size_t body_len,
                         unsigned char out[ONCE_FINGERPRINT_SIZE]) {
  size_t method_len, path_len, query_len = 0;
  int rc = ready();
  if (rc == 0 && (out == NULL || (body == NULL && body_len > 0) || body_len > ONCE_MAX_BODY_SIZE ||
                  check_string(method, ONCE_MAX_KEY_SIZE, 0, &method_len) != 0 ||
                  check_string(path, ONCE_MAX_HEADERS_SIZE, 1, &path_len) != 0 ||
                  (query != NULL && check_string(query, ONCE_MAX_HEADERS_SIZE, 1, &query_len) != 0))) {
    rc = ONCE_ERR_ARG;
  }
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  if ((rc = reserve(&c, method_len + path_len + query_len + body_len + HEADER)) == 0) {
    unsigned char *p = c.ts->mem;
    memcpy(p, method, method_len);
    memcpy(p += method_len, path, path_len);
    memcpy(p += path_len, query == NULL ? "" : query, query_len);
    if (body_len > 0) {
      memcpy(p + query_len, body, body_len);
    }
    rc = invoke(&c, m.fingerprint, c.io, (jint)method_len, (jint)path_len,
                query == NULL ? (jint)-1 : (jint)query_len, (jint)body_len);
    if (rc == 0) {
      memcpy(out, c.ts->mem + HEADER, ONCE_FINGERPRINT_SIZE);
    }
  }
  leave(&c);
  return rc;
}

static void fill_response(once_response *response, const unsigned char *mem, size_t headers_cap) {
  if (response == NULL) {
    return;
  }
  response->status = read_int(mem, OUT_STATUS);
  response->replayable = read_int(mem, OUT_REPLAYABLE);
  response->body_len = (size_t)read_int(mem, OUT_BODY_LEN);
  response->headers_len = (size_t)read_int(mem, OUT_HEADERS_LEN);
  response->header_count = (size_t)read_int(mem, OUT_HEADER_COUNT);
  size_t headers_copied = response->headers_len <= headers_cap ? response->headers_len : 0;
  size_t body_copied = (size_t)read_int(mem, OUT_COPIED);
  if (headers_copied > 0) {
    memcpy(response->headers, mem + HEADER, headers_copied);
  }
  if (body_copied > 0) {
    memcpy(response->body, mem + HEADER + headers_copied, body_copied);
  }
}

static size_t body_cap(const once_response *response) {
  if (response == NULL) {
    return 0;
  }
  return response->body_cap < ONCE_MAX_BODY_SIZE ? response->body_cap : ONCE_MAX_BODY_SIZE;
}

static size_t headers_cap(const once_response *response) {
  if (response == NULL) {
    return 0;
  }
  return response->headers_cap < ONCE_MAX_HEADERS_SIZE ? response->headers_cap
                                                       : ONCE_MAX_HEADERS_SIZE;
}

/* once_claim and once_lookup: the same call shape, the same record output. */
static int read_record(const char *key, const unsigned char *fingerprint, long long lease_ms,
                       once_token *token, once_response *response, int claiming) {
  size_t key_len;
  int rc = ready();
  if (rc == 0 &&
      (check_key(key, &key_len) != 0 || check_response(response) != 0 ||
       (claiming && (token == NULL || lease_ms < 0 || lease_ms > ONCE_MAX_DURATION_MS)))) {
    rc = ONCE_ERR_ARG;
  }
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  size_t bcap = body_cap(response);
  size_t hcap = headers_cap(response);
  size_t need = key_len + ONCE_FINGERPRINT_SIZE + HEADER;
  for (int tries = 0; tries < MAX_GROWS; tries++) {
    if ((rc = reserve_first(&c, need, key, key_len)) != 0) {
      break;
    }
    if (claiming) {
      if (fingerprint != NULL) {
        memcpy(c.ts->mem + key_len, fingerprint, ONCE_FINGERPRINT_SIZE);
      }
      rc = invoke(&c, m.claim, c.io, (jint)key_len, (jint)(fingerprint != NULL), (jlong)lease_ms,
                  (jint)bcap, (jint)hcap);
    } else {
      rc = invoke(&c, m.lookup, c.io, (jint)key_len, (jint)bcap, (jint)hcap);
    }
    if (rc == GROW) {
      need = (size_t)read_int(c.ts->mem, OUT_NEED);
      continue;
    }
    if (rc == ONCE_ACQUIRED && claiming) {
      memcpy(token->bytes, c.ts->mem + OUT_TOKEN, ONCE_TOKEN_SIZE);
    } else if (rc == ONCE_COMPLETED || rc == ONCE_OUTCOME_UNKNOWN) {
      fill_response(response, c.ts->mem, hcap);
    }
    break;
  }
  leave(&c);
  return rc == GROW ? ONCE_ERR_JVM : rc;
}

API int once_claim(const char *key, const unsigned char *fingerprint, long long lease_ms,
                   once_token *token, once_response *response) {
  return read_record(key, fingerprint, lease_ms, token, response, 1);
}

API int once_lookup(const char *key, once_response *response) {
  return read_record(key, NULL, 0, NULL, response, 0);
}

/* The packed size of headers ("name\0value\0"...), or 0 with *rc set when one is bad. */
static size_t packed_size(const once_header *headers, size_t count, int *rc) {
  size_t total = 0;
  *rc = 0;
  if (headers == NULL && count > 0) {
    *rc = ONCE_ERR_ARG;
    return 0;
  }
  for (size_t i = 0; i < count; i++) {
    size_t name_len, value_len;
    if (check_string(headers[i].name, ONCE_MAX_HEADERS_SIZE, 0, &name_len) != 0 ||
        check_string(headers[i].value, ONCE_MAX_HEADERS_SIZE, 1, &value_len) != 0) {
      *rc = ONCE_ERR_ARG;
      return 0;
    }
    total += name_len + value_len + 2;
    if (total > ONCE_MAX_HEADERS_SIZE) {
      *rc = ONCE_ERR_ARG;
      return 0;
    }
  }
  return total;
}

API int once_complete(const char *key, const once_token *token, int status,
                      const once_header *headers, size_t header_count, const void *body,
                      size_t body_len, long long ttl_ms) {
  size_t key_len;
  int rc = ready();
  if (rc == 0 && (check_key(key, &key_len) != 0 || token == NULL || status < 100 ||
                  status > 599 || (body == NULL && body_len > 0) ||
                  body_len > ONCE_MAX_BODY_SIZE || ttl_ms < 1 || ttl_ms > ONCE_MAX_DURATION_MS)) {
    rc = ONCE_ERR_ARG;
  }
  size_t headers_len = rc == 0 ? packed_size(headers, header_count, &rc) : 0;
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  if ((rc = reserve_first(&c, key_len + ONCE_TOKEN_SIZE + headers_len + body_len, key,
                          key_len)) == 0) {
    unsigned char *p = c.ts->mem + key_len;
    memcpy(p, token->bytes, ONCE_TOKEN_SIZE);
    p += ONCE_TOKEN_SIZE;
    for (size_t i = 0; i < header_count; i++) {
      size_t n = strlen(headers[i].name) + 1;
      memcpy(p, headers[i].name, n);
      p += n;
      n = strlen(headers[i].value) + 1;
      memcpy(p, headers[i].value, n);
      p += n;
    }
    if (body_len > 0) {
      memcpy(p, body, body_len);
    }
    rc = invoke(&c, m.complete, c.io, (jint)key_len, (jint)status, (jint)headers_len,
                (jint)body_len, (jlong)ttl_ms);
  }
  leave(&c);
  return rc;
}

enum token_operation { RELEASE, RENEW, COMPLETE_UNKNOWN };

/* once_release, once_renew and once_complete_unknown: a key and a token in, 1 or 0 out; millis is
 * the lease of a renewal (0: the default) or the ttl of an unknown outcome (at least 1). */
static int token_call(enum token_operation operation, const char *key, const once_token *token,
                      long long millis) {
  size_t key_len;
  int rc = ready();
  if (rc == 0 && (check_key(key, &key_len) != 0 || token == NULL || millis < 0 ||
                  millis > ONCE_MAX_DURATION_MS || (operation == COMPLETE_UNKNOWN && millis < 1))) {
    rc = ONCE_ERR_ARG;
  }
  call c;
  if ((rc = begin(&c, rc)) != 0) {
    return rc;
  }
  if ((rc = reserve_first(&c, key_len + ONCE_TOKEN_SIZE, key, key_len)) == 0) {
    memcpy(c.ts->mem + key_len, token->bytes, ONCE_TOKEN_SIZE);
    switch (operation) {
      case RELEASE:
        rc = invoke(&c, m.release, c.io, (jint)key_len);
        break;
      case RENEW:
        rc = invoke(&c, m.renew, c.io, (jint)key_len, (jlong)millis);
        break;
      case COMPLETE_UNKNOWN:
        rc = invoke(&c, m.complete_unknown, c.io, (jint)key_len, (jlong)millis);
        break;
    }
  }
  leave(&c);
  return rc;
}

API int once_release(const char *key, const once_token *token) {
  return token_call(RELEASE, key, token, 0);
}

API int once_renew(const char *key, const once_token *token, long long lease_ms) {
  return token_call(RENEW, key, token, lease_ms);
}

API int once_complete_unknown(const char *key, const once_token *token, long long ttl_ms) {
  return token_call(COMPLETE_UNKNOWN, key, token, ttl_ms);
}

API int once_header_next(const char *headers, size_t headers_len, size_t *pos, const char **name,
                         const char **value) {
  if (headers == NULL || pos == NULL || name == NULL || value == NULL || *pos >= headers_len) {
    return 0;
  }
  const char *start = headers + *pos;
  const char *end = headers + headers_len;
  const char *name_end = memchr(start, '\0', (size_t)(end - start));
  if (name_end == NULL) {
    return 0;
  }
  const char *value_end = memchr(name_end + 1, '\0', (size_t)(end - name_end - 1));
  if (value_end == NULL) {
    return 0;
  }
  *name = start;
  *value = name_end + 1;
  *pos = (size_t)(value_end + 1 - headers);
  return 1;
}
