/**
 * {@link dev.once.jdbc.JdbcStore}: the idempotency store in one PostgreSQL table, shared by every
 * instance of an application, with one SQL statement per store operation.
 */
package dev.once.jdbc;
