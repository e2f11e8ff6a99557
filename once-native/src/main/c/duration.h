/*
 * duration.h: the duration grammar of once's configuration text, for the C library's environment
 * (ONCE_LEASE=60s). The Java side's is dev.once.config.ConfigText.duration; the two are held to
 * the same cases by the tests (once-core's duration-cases.txt, read by ConfigTextTest and by
 * test_duration). Internal to libonce.so: once.c includes it, nothing else does but that test.
 *
 *   a whole number with a unit, ms, s, m, h or d      500ms  30s  5m  24h  2d
 *   several of those in a row                          1h30m  1m500ms
 *   zero                                               0
 *   ISO-8601, in any case                              PT30S  P1DT2H  PT0.5S
 *
 * Blanks around the text are ignored; a negative duration is refused.
 */
#ifndef ONCE_DURATION_H
#define ONCE_DURATION_H

#include <string.h>

typedef enum {
  DURATION_OK = 0,
  DURATION_NOT_ONE,   /* not a duration */
  DURATION_NEGATIVE,  /* an ISO-8601 duration below zero */
  DURATION_TOO_LONG   /* beyond what a long long of milliseconds holds */
} duration_status;

#define DURATION_FORMS "use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S"

/* Reads [*p, end) as an optional sign and digits; 0 if there are none, -1 on overflow. */
static int duration_number(const char **p, const char *end, int sign_allowed, long long *value) {
  const char *q = *p;
  int negative = 0;
  if (sign_allowed && q < end && (*q == '+' || *q == '-')) {
    negative = *q == '-';
    q++;
  }
  const char *digits = q;
  long long n = 0;
  int overflow = 0;
  while (q < end && *q >= '0' && *q <= '9') {
    if (!overflow &&
        (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, *q - '0', &n))) {
      overflow = 1;
    }
    q++;
  }
  if (q == digits) {
    return 0;
  }
  *p = q;
  *value = negative ? -n : n;
  return overflow ? -1 : 1;
}

static int duration_upper(char c) {
  return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* Adds amount * unit_seconds to *seconds; 0 on overflow. */
static int duration_add(long long *seconds, long long amount, long long unit_seconds) {
  long long part;
  return !__builtin_mul_overflow(amount, unit_seconds, &part) &&
         !__builtin_add_overflow(*seconds, part, seconds);
}

/* Reads [*p, end) as a signed number and the letter unit; 0 if they are not there (p unmoved). */
static int duration_iso_part(const char **p, const char *end, char unit, long long *n) {
  const char *q = *p;
  int r = duration_number(&q, end, 1, n);
  if (r == 0 || q >= end || duration_upper(*q) != unit) {
    return 0;
  }
  *p = q + 1;
  return r;
}

/*
 * ISO-8601 from its P, as java.time.Duration.parse reads it: P[nD][T[nH][nM][n[.f]S]], each
 * number signed, at least one part, a T only with a time part after it. A number too large for
 * it is not a duration, as in Java.
 */
static duration_status duration_iso(const char *p, const char *end, long long *millis) {
  long long seconds = 0, nanos = 0, n;
  int parts = 0, r;
  p++;
  if ((r = duration_iso_part(&p, end, 'D', &n)) != 0) {
    if (r < 0 || !duration_add(&seconds, n, 86400)) {
      return DURATION_NOT_ONE;
    }
    parts++;
  }
  if (p < end && duration_upper(*p) == 'T') {
    p++;
    int time_parts = 0;
    static const char units[] = {'H', 'M'};
    static const long long unit_seconds[] = {3600, 60};
    for (int u = 0; u < 2; u++) {
      if ((r = duration_iso_part(&p, end, units[u], &n)) != 0) {
        if (r < 0 || !duration_add(&seconds, n, unit_seconds[u])) {
          return DURATION_NOT_ONE;
        }
        time_parts++;
      }
    }
    const char *q = p;
    r = duration_number(&q, end, 1, &n);
    if (r != 0) {
      int negative = *p == '-';
      long long fraction = 0;
      if (q < end && (*q == '.' || *q == ',')) {
        q++;
        int digits = 0;
        while (q < end && *q >= '0' && *q <= '9' && digits < 10) {
          fraction = fraction * 10 + (*q - '0');
          q++;
          digits++;
        }
        if (digits > 9) {
          return DURATION_NOT_ONE;
        }
        for (; digits < 9; digits++) {
          fraction *= 10;
        }
      }
      if (q < end && duration_upper(*q) == 'S') {
        if (r < 0 || !duration_add(&seconds, n, 1)) {
          return DURATION_NOT_ONE;
        }
        nanos = negative ? -fraction : fraction;
        p = q + 1;
        time_parts++;
      }
    }
    if (time_parts == 0) {
      return DURATION_NOT_ONE;
    }
    parts += time_parts;
  }
  if (p != end || parts == 0) {
    return DURATION_NOT_ONE;
  }
  if (seconds < 0 || (seconds == 0 && nanos < 0)) {
    return DURATION_NEGATIVE;
  }
  long long ms;
  if (__builtin_mul_overflow(seconds, 1000, &ms) ||
      __builtin_add_overflow(ms, nanos / 1000000, &ms)) {
    return DURATION_TOO_LONG;
  }
  if (nanos < 0 && nanos % 1000000 != 0) {
    ms--; /* java.time.Duration.toMillis rounds towards the past */
  }
  *millis = ms;
  return DURATION_OK;
}

/*
 * Reads a duration in milliseconds.
 * Returns DURATION_OK and sets *millis, or says why the text is none.
 */
static duration_status duration_parse(const char *text, long long *millis) {
  const char *p = text, *end = text + strlen(text);
  while (p < end && (unsigned char)*p <= ' ') {
    p++;
  }
  while (end > p && (unsigned char)end[-1] <= ' ') {
    end--;
  }
  if (end - p == 1 && *p == '0') {
    *millis = 0;
    return DURATION_OK;
  }
  if (p < end && (*p == 'P' || *p == 'p')) {
    return duration_iso(p, end, millis);
  }
  long long total = 0;
  int parts = 0;
  while (p < end) {
    long long n;
    int r = duration_number(&p, end, 0, &n);
    if (r == 0) {
      return DURATION_NOT_ONE;
    }
    long long unit;
    if (end - p >= 2 && p[0] == 'm' && p[1] == 's') {
      unit = 1;
      p += 2;
    } else if (p < end && (*p == 's' || *p == 'm' || *p == 'h' || *p == 'd')) {
      unit = *p == 's' ? 1000 : *p == 'm' ? 60000 : *p == 'h' ? 3600000 : 86400000;
      p++;
    } else {
      return DURATION_NOT_ONE;
    }
    if (r < 0 || !duration_add(&total, n, unit)) {
      return DURATION_TOO_LONG;
    }
    parts++;
  }
  if (parts == 0) {
    return DURATION_NOT_ONE;
  }
  *millis = total;
  return DURATION_OK;
}

#endif
