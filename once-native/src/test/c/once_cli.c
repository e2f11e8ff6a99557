/*
 * once_cli: drives libonce.so from standard input, one command a line, one answer a line, so a
 * test in another language (NativeLibraryIT, and the Redis sharing test) can interleave C calls
 * with its own in one process of the library:
 *
 *   check KEY                      -> RC [BODY]           (RC: the status, 0, or an error code)
 *   store KEY STATUS TTL [BODY]    -> RC                  (BODY: the rest of the line)
 *   lock KEY                       -> RC                  (the lock id, 0, or an error code)
 *   unlock ID                      -> 0
 *   lookup KEY                     -> RC [STATUS [NAME: VALUE; ...] BODY]
 *                                     (the record after RC 3 or 5: completed, outcome unknown)
 *   destroy                        -> 0
 *
 * It calls once_init first (ONCE_STORE and the other variables of once.h apply) and answers
 * "ready", or exits with status 1 if the library did not open.
 */
#define _GNU_SOURCE
#include "once.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *next_word(char **line) {
  char *word = *line;
  while (*word == ' ') {
    word++;
  }
  if (*word == '\0') {
    return NULL;
  }
  char *end = strchr(word, ' ');
  if (end == NULL) {
    *line = word + strlen(word);
  } else {
    *end = '\0';
    *line = end + 1;
  }
  return word;
}

static void lookup(char *key) {
  static char body[1 << 20];
  static char headers[1 << 16];
  once_response r = {body, sizeof body - 1, headers, sizeof headers, 0, 0, 0, 0, 0};
  int rc = once_lookup(key, &r);
  if (rc != ONCE_COMPLETED && rc != ONCE_OUTCOME_UNKNOWN) {
    printf("%d\n", rc);
    return;
  }
  size_t copied = r.body_len < r.body_cap ? r.body_len : r.body_cap;
  body[copied] = '\0';
  printf("%d %d [", rc, r.status);
  size_t pos = 0;
  const char *name, *value;
  for (int first = 1; once_header_next(headers, r.headers_len <= r.headers_cap ? r.headers_len : 0,
                                       &pos, &name, &value);
       first = 0) {
    printf("%s%s: %s", first ? "" : "; ", name, value);
  }
  printf("] %s\n", body);
}

int main(void) {
  char error[1024];
  int rc = once_open(NULL, error, sizeof error);
  if (rc != 0) {
    fprintf(stderr, "once_open: %s: %s\n", once_strerror(rc), error);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  static char line[1 << 20];
  static char out[1 << 20];
  while (fgets(line, sizeof line, stdin) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    char *rest = line;
    char *command = next_word(&rest);
    char *key = command == NULL ? NULL : next_word(&rest);
    if (command == NULL) {
      continue;
    } else if (strcmp(command, "check") == 0) {
      rc = once_check(key, out, sizeof out);
      printf(rc > 0 ? "%d %s\n" : "%d\n", rc, out);
    } else if (strcmp(command, "store") == 0) {
      char *status = next_word(&rest);
      char *ttl = next_word(&rest);
      printf("%d\n", once_store(key, status == NULL ? 0 : atoi(status), rest, (int)strlen(rest),
                                ttl == NULL ? 0 : atoi(ttl)));
    } else if (strcmp(command, "lock") == 0) {
      printf("%d\n", once_lock(key));
    } else if (strcmp(command, "unlock") == 0) {
      once_unlock(key == NULL ? 0 : atoi(key));
      printf("0\n");
    } else if (strcmp(command, "lookup") == 0) {
      lookup(key);
    } else if (strcmp(command, "destroy") == 0) {
      once_destroy();
      printf("0\n");
    } else {
      printf("unknown command %s\n", command);
    }
    fflush(stdout);
  }
  return 0;
}
